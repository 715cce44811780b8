#!/bin/sh
# Install the Debian packages Mica builds and tests with.  Idempotent and
# quiet when everything is already there.
set -e
PKGS="gcc make pkg-config clang libclang-rt-14-dev
libseccomp-dev libcap-ng-dev libprotobuf-c-dev protobuf-c-compiler
liburing-dev zlib1g-dev libzstd-dev libnl-3-dev libnl-route-3-dev
libcunit1-dev libjson-c-dev
iproute2 procps python3 qemu-utils qemu-system-common"
# Components list extra packages in FOLDER/deps.txt (one per line, # comments).
here=$(dirname "$0")/..
for f in "$here"/*/deps.txt "$here"/tests/*/deps.txt; do
	[ -f "$f" ] && PKGS="$PKGS $(sed 's/#.*//' "$f" | tr '\n' ' ')"
done
[ -n "$MICA_EXTRA_PKGS" ] && PKGS="$PKGS $MICA_EXTRA_PKGS"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
