#!/bin/bash
# The demo.  Part 1: small test guests run on KVM inside the jailed
# process set (mica-vcpu runs them, their serial port is served by
# mica-legacy in another jailed process) and print to this terminal; the
# second one writes and verifies sectors of a disk served by mica-blk.  Part 2: the
# stock Debian cloud kernel (fetched and unpacked under build/demo, nothing
# installed on the host) is started as the VM of examples/demo.json; we
# show its process set and how each process is confined, then stop it.
#
# On machines whose /dev/kvm is itself emulated (as on our CI), Linux
# starts but is far too slow to reach a prompt, and the translator cannot
# run whole systems yet: part 2 says so instead of waiting.
set -e
cd "$(dirname "$0")/../.."
DEMO=build/demo
MICA=build/bin/mica
mkdir -p "$DEMO"
export MICA_RUNDIR=$PWD/$DEMO/run

echo "== 1. A test guest under mica run: 4 vCPUs, then a virtio disk"
"$MICA" run --name demo-smp --kernel build/guests/smp.elf --cpus 4 --memory 64M
echo "demo: the guest ended; mica exited with status $?"
echo
echo "   The disk path: guest -> mica-vcpu (virtio-pci) -> vhost-user -> mica-blk"
echo "   (image fd from mica-blockd) -> io_uring -> $DEMO/guest-disk.raw"
rm -f "$DEMO/guest-disk.raw"; truncate -s 1M "$DEMO/guest-disk.raw"
"$MICA" run --name demo-disk --kernel build/guests/virtio-blk.bz --memory 64M \
	--disk "$DEMO/guest-disk.raw,format=raw"
echo "demo: the guest ended; mica exited with status $?; sector 8 of the image now reads:"
dd if="$DEMO/guest-disk.raw" bs=512 skip=8 count=1 status=none | head -1
echo

if [ ! -s "$DEMO/vmlinuz" ]; then
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	      awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null
		pkg=$(apt-cache depends linux-image-cloud-amd64 |
		      awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	fi
	echo "demo: fetching $pkg (unpacked into $DEMO, not installed)"
	(cd "$DEMO" && rm -f ./*.deb && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null)
	rm -rf "$DEMO/pkg"
	dpkg-deb -x "$DEMO"/"$pkg"_*.deb "$DEMO/pkg"
	cp "$DEMO"/pkg/boot/vmlinuz-* "$DEMO/vmlinuz"
	rm -rf "$DEMO/pkg" "$DEMO"/*.deb
fi
[ -e "$DEMO/disk.raw" ] || truncate -s 1G "$DEMO/disk.raw"

echo "== 2. The Debian cloud kernel as the VM of examples/demo.json"
"$MICA" run examples/demo.json --console "file:$DEMO/console.log" &
pid=$!
for _ in $(seq 100); do
	"$MICA" status demo >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 2
echo
"$MICA" status demo
echo
echo "How each process is confined (from /proc/PID/status):"
for p in $("$MICA" status demo --json | python3 -c 'import json,sys
print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["processes"]))'); do
	printf '  %-12s uid %-6s CapEff %s NoNewPrivs %s Seccomp %s root: %s\n' \
		"$(cat /proc/$p/comm)" \
		"$(awk '/^Uid:/ {print $2}' /proc/$p/status)" \
		"$(awk '/^CapEff:/ {print $2}' /proc/$p/status)" \
		"$(awk '/^NoNewPrivs:/ {print $2}' /proc/$p/status)" \
		"$(awk '/^Seccomp:/ {print $2}' /proc/$p/status)" \
		"$(ls -A /proc/$p/root/ | wc -l) entries"
done
echo
echo "demo: the kernel was loaded and started on KVM.  Where /dev/kvm is emulated"
echo "demo: (as here) it runs thousands of times slower than native and will not"
echo "demo: reach a prompt in useful time.  Stopping the VM."
"$MICA" stop demo
wait $pid
