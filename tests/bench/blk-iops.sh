#!/bin/bash
# 4K random read/write IOPS and latency of vhost-user-blk backends, measured
# in the same run with the same load generator (build/bench/blk-load, a
# virtio driver on shared memory): mica-blk against qemu-storage-daemon,
# on the same raw and qcow2 images, at QD 1 and 32, 1 and 2 queues.
# Both use the host page cache (cache.direct=off for QEMU).  mica-blk runs
# raw images through io_uring (default) and, as "mica-sync", with
# synchronous preadv/pwritev.  qcow2 runs two ways: "mica-blk" with the
# block library in the process (like qemu-storage-daemon), and "mica-map"
# split as under `mica run` (mica-blk --mapping: a mica-blockd process owns
# the metadata and answers mappings over IPC, mica-blk does the data I/O
# on the image fd, io_uring for mapped extents), "map-sync" the same
# with --aio sync.
# Run it on a quiet machine: other load moves these numbers a lot.
#
#   tests/bench/blk-iops.sh [SECONDS_PER_POINT]
set -e
cd "$(dirname "$0")/../.."
secs=${1:-3}
make -s build/bin/mica-blk build/bin/mica-blockd build/bench/blk-load >/dev/null
command -v qemu-storage-daemon >/dev/null || { echo "needs qemu-storage-daemon (qemu-system-common)"; exit 1; }
dir=$(mktemp -d /tmp/mica-bench-blk.XXXXXX)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
size=1G
qemu-img create -q -f raw "$dir/disk.raw" $size
qemu-img create -q -f qcow2 -o preallocation=metadata "$dir/disk.qcow2" $size
# Fill both so reads hit data, not holes.
qemu-io -f raw -c "write -P 0x5a 0 $size" "$dir/disk.raw" >/dev/null
qemu-io -f qcow2 -c "write -P 0x5a 0 $size" "$dir/disk.qcow2" >/dev/null

start_backend() {   # NAME FORMAT
	rm -f "$dir/sock"
	case $1 in
	mica-blk)
		build/bin/mica-blk --socket-path "$dir/sock" --blk-file "$dir/disk.$2" \
			--format "$2" --num-queues 2 2>/dev/null & ;;
	mica-sync)
		build/bin/mica-blk --socket-path "$dir/sock" --blk-file "$dir/disk.$2" \
			--format "$2" --num-queues 2 --aio sync 2>/dev/null & ;;
	mica-map)
		build/bin/mica-blk --socket-path "$dir/sock" --blk-file "$dir/disk.$2" \
			--format "$2" --num-queues 2 --mapping 2>/dev/null & ;;
	map-sync)
		build/bin/mica-blk --socket-path "$dir/sock" --blk-file "$dir/disk.$2" \
			--format "$2" --num-queues 2 --mapping --aio sync 2>/dev/null & ;;
	qsd)
		qemu-storage-daemon --blockdev "driver=file,node-name=f,filename=$dir/disk.$2,cache.direct=off" \
			--blockdev "driver=$2,node-name=disk,file=f" \
			--export "type=vhost-user-blk,id=e,node-name=disk,writable=on,num-queues=2,addr.type=unix,addr.path=$dir/sock" \
			2>/dev/null & ;;
	esac
	pid=$!
	for _ in $(seq 50); do [ -S "$dir/sock" ] && break; sleep 0.1; done
}

printf '%-6s %-10s %-8s %-9s %12s %9s %9s\n' format rw "qd/queues" backend iops p50_us p99_us
for fmt in raw qcow2; do
	for rw in randread randwrite; do
		for point in "1 1" "32 1" "32 2"; do
			set -- $point
			backends="mica-blk mica-map map-sync qsd"
			[ $fmt = raw ] && backends="mica-blk mica-sync qsd"
			for be in $backends; do
				start_backend $be $fmt
				line=$(build/bench/blk-load "$dir/sock" --rw $rw --qd $1 --queues $2 \
					--seconds "$secs" --size $size)
				kill $pid; wait $pid 2>/dev/null || true
				# mica-map's mica-blockd child lets go of the image lock
				# when its channel closes.
				for _ in $(seq 50); do
					qemu-img info "$dir/disk.$fmt" >/dev/null 2>&1 && break
					sleep 0.1
				done
				iops=$(sed -E 's/.*iops=([0-9]+).*/\1/' <<<"$line")
				p50=$(sed -E 's/.*p50_us=([0-9.]+).*/\1/' <<<"$line")
				p99=$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$line")
				printf '%-6s %-10s %-8s %-9s %12s %9s %9s\n' $fmt $rw "$1/$2" $be \
					"$iops" "$p50" "$p99"
			done
		done
	done
done
