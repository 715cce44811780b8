#!/bin/bash
# Build Mica's Linux test guest from Debian packages, on this machine:
#
#   OUT/vmlinuz             Debian's stock linux-image-*-cloud-amd64 kernel
#   OUT/initramfs.cpio.gz   busybox-static, the kernel modules the tests
#                           need (dependencies first), /init and /tests/*
#
# usage: build.sh [OUT]          (default build/guest)
#
# Nothing is installed on the host: the kernel package is fetched with
# `apt-get download` into OUT/cache and unpacked there.  Busybox comes
# from the host's busybox-static package when installed, else it is
# fetched and unpacked the same way.  Re-running is cheap: downloads and
# unpacked trees are kept, and nothing is redone when the initramfs is
# newer than its sources (this folder) and the unpacked kernel.
set -e -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-build/guest}
CACHE=$OUT/cache
mkdir -p "$CACHE"
OUT=$(cd "$OUT" && pwd)
CACHE=$OUT/cache

# Modules the tests need; their dependencies are added and ordered here.
WANT_MODULES="virtio_pci virtio_blk virtio_net"

say() { echo "guest-image: $*"; }
die() { echo "guest-image: $*" >&2; exit 1; }

# fetch PACKAGE: the .deb of PACKAGE (current candidate) in the cache.
fetch() {
	local pkg=$1 ver deb
	ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		apt-get update -qq >/dev/null ||
			die "apt-get update failed"
		ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
	fi
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no Debian package $pkg"
	# Epochs (1:...) are spelled %3a in .deb file names.
	deb=$(ls "$CACHE/${pkg}_"*"${ver#*:}_"*.deb 2>/dev/null | head -1)
	if [ -z "$deb" ]; then
		say "fetching $pkg $ver (into $CACHE, not installed)" >&2
		(cd "$CACHE" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >/dev/null) ||
			die "apt-get download $pkg=$ver failed"
		deb=$(ls "$CACHE/${pkg}_"*"${ver#*:}_"*.deb | head -1)
	fi
	echo "$deb"
}

# unpack DEB DIR: dpkg-deb -x once (a stamp names the .deb unpacked).
unpack() {
	if [ "$(cat "$2.stamp" 2>/dev/null)" != "$(basename "$1")" ]; then
		rm -rf "$2" "$2.stamp"
		dpkg-deb -x "$1" "$2"
		basename "$1" >"$2.stamp"
	fi
}

# ---- kernel ----
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
       awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
	apt-get update -qq >/dev/null || die "apt-get update failed"
	kpkg=$(apt-cache depends linux-image-cloud-amd64 |
	       awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kpkg" ] || die "cannot find the package linux-image-cloud-amd64 depends on"
unpack "$(fetch "$kpkg")" "$CACHE/kernel"
kver=$(basename "$(ls -d "$CACHE"/kernel/lib/modules/*/ | head -1)")
MODDIR=$CACHE/kernel/lib/modules/$kver

# Up to date: the initramfs is newer than this builder, /init, the tests
# and the unpacked kernel.
if [ -s "$OUT/initramfs.cpio.gz" ] && [ -s "$OUT/vmlinuz" ] &&
   [ -z "$(find "$here" "$CACHE/kernel.stamp" -newer "$OUT/initramfs.cpio.gz" 2>/dev/null)" ]; then
	exit 0
fi

# ---- busybox ----
if dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed"; then
	busybox=/bin/busybox
else
	unpack "$(fetch busybox-static)" "$CACHE/busybox"
	busybox=$CACHE/busybox/bin/busybox
fi
"$busybox" true 2>/dev/null || die "$busybox does not run"

# ---- modules, dependencies first ----
# module_file NAME: path of NAME's .ko (names use _ and - interchangeably),
# or nothing when it is built in.
module_file() {
	local pattern
	pattern=$(echo "$1" | sed 's/[-_]/[-_]/g')
	grep -qE "/$pattern\.ko$" "$MODDIR/modules.builtin" && return 0
	find "$MODDIR/kernel" -regextype posix-extended \
		-regex ".*/$pattern\.ko(\.xz|\.zst|\.gz)?" | head -1 | grep . ||
		die "module $1 not found in $kpkg"
}

declare -A placed=()
ORDER=()
# place NAME: append NAME after its dependencies (modinfo -F depends).
place() {
	local name=${1//-/_} file dep
	[ -n "${placed[$name]}" ] && return 0
	placed[$name]=1
	file=$(module_file "$name")
	[ -z "$file" ] && return 0
	for dep in $(/sbin/modinfo -F depends "$file" | tr ',' ' '); do
		place "$dep"
	done
	ORDER+=("$name:$file")
}
for m in $WANT_MODULES; do place "$m"; done

# ---- initramfs tree ----
ROOT=$OUT/initramfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,dev,etc/udhcpc,proc,sys,mnt,tmp,tests,lib/modules}
cp "$busybox" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
: >"$ROOT/lib/modules/load-order"
for entry in "${ORDER[@]}"; do
	name=${entry%%:*} file=${entry#*:}
	# busybox insmod reads plain ELF only: decompress here.
	case $file in
	*.xz)  xz -dc "$file" ;;
	*.zst) zstd -qdc "$file" ;;
	*.gz)  gzip -dc "$file" ;;
	*)     cat "$file" ;;
	esac >"$ROOT/lib/modules/$name.ko"
	echo "$name" >>"$ROOT/lib/modules/load-order"
done
install -m 755 "$here/init" "$ROOT/init"
# udhcpc's default hook (where Debian's busybox looks): the network tests
# get their address by DHCP.
install -m 755 "$here/udhcpc.script" "$ROOT/etc/udhcpc/default.script"
for t in "$here"/tests/*; do
	install -m 755 "$t" "$ROOT/tests/"
done
echo "$kver" >"$ROOT/kernel-version"
cp "$CACHE/kernel/boot/vmlinuz-$kver" "$OUT/vmlinuz"

# busybox's own cpio, so that the host needs no cpio package.
(cd "$ROOT" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
	gzip -9n >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
say "$OUT/vmlinuz ($kpkg), $OUT/initramfs.cpio.gz" \
    "($(du -k "$OUT/initramfs.cpio.gz" | cut -f1) KiB; modules: $(tr '\n' ' ' <"$ROOT/lib/modules/load-order"))"
