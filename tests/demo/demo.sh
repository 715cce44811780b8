#!/bin/bash
# The demo: fetch a stock Debian cloud kernel (unpacked into build/demo,
# nothing installed on the host), start the demo VM's process set with
# `mica run examples/demo.json`, show what runs and how it is confined,
# then stop it.  Running the guest's vCPUs is not supported yet: the
# runner says so in its status line.
set -e
cd "$(dirname "$0")/../.."
DEMO=build/demo
MICA=build/bin/mica
mkdir -p "$DEMO"

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

export MICA_RUNDIR=$PWD/$DEMO/run
"$MICA" run examples/demo.json &
pid=$!
for _ in $(seq 100); do
	"$MICA" status demo >/dev/null 2>&1 && break
	sleep 0.1
done
sleep 1
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
echo "demo: the guest does not boot yet (vCPU execution is not supported yet);"
echo "demo: stopping the VM."
"$MICA" stop demo
wait $pid
