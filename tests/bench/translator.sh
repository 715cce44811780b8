#!/bin/bash
# Wall time of real programs natively, under mica-x86_64 and under Debian's
# qemu-x86_64, measured in the same run on the same inputs, printed as a
# comparison with the speed of each relative to native (100% = native) and
# the geometric mean.  The target for mica-x86_64 is >= 70% of native
# (about twice qemu-x86_64).
#
#   tests/bench/translator.sh [RUNS]     best of RUNS (default 3)
#   MICA_X86=path/to/mica-x86_64 ...     another build (A/B comparisons)
set -e
cd "$(dirname "$0")/../.."
runs=${1:-3}
if [ -z "$MICA_X86" ]; then
	MICA_X86=build/bin/mica-x86_64
	make -s "$MICA_X86" >/dev/null
fi
QEMU=$(command -v qemu-x86_64 || true)
[ -n "$QEMU" ] || echo "qemu-x86_64 not installed (apt-get install qemu-user): its column stays empty"
dir=$(mktemp -d /tmp/mica-bench-tr.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# Inputs: 8 MB of mixed text, deterministic; 64 MB for sha256sum.
python3 - "$dir/input" <<'PY'
import random, sys
random.seed(7)
words = open("/usr/share/dict/words").read().split() if __import__("os").path.exists("/usr/share/dict/words") else [f"w{i:05d}" for i in range(20000)]
with open(sys.argv[1], "w") as f:
    n = 0
    while n < 8 << 20:
        line = " ".join(random.choice(words) for _ in range(12)) + f" {random.random():.9f}\n"
        f.write(line); n += len(line)
PY
for _ in 1 2 3 4 5 6 7 8; do cat "$dir/input"; done > "$dir/big"
cat > "$dir/prog.py" <<'PY'
import json, hashlib
d = {str(i): [i * i, str(i) * 3] for i in range(60000)}
s = json.dumps(d)
print(len(s), hashlib.sha1(s.encode()).hexdigest()[:12], sum(x * x for x in range(400000)))
PY
# Extra row (not one of the original five): pure-Python compute running
# ~1 s natively, so that translation is a small part of it.
cat > "$dir/long.py" <<'PY'
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
acc = 0
for i in range(2500000):
    acc = (acc * 31 + i * i) % 1000003
words = [str(i * 7919 % 100003) for i in range(600000)]
words.sort()
print(fib(28), acc, len(set(words)), words[1000])
PY

# gcc's -wrapper for qemu: qemu-x86_64 wants a path, gcc passes "as".
cat > "$dir/qwrap" <<SH
#!/bin/sh
p=\$(command -v "\$1"); shift
exec $QEMU "\$p" "\$@"
SH
chmod +x "$dir/qwrap"

# name | command (run as: [translator] command)
workloads=(
	"xz -3|xz -3 -c -T1 $dir/input"
	"gzip -6|gzip -6 -c $dir/input"
	"sha256sum|sha256sum $dir/big"
	"python3|/usr/bin/python3 $dir/prog.py"
	"gcc -O2|gcc @WRAP@ -O2 -c -Iipc -Ijail -Ibuild/gen -I. ipc/virtq.c -o $dir/virtq.o"
	"py-long*|/usr/bin/python3 $dir/long.py"
)

best() {   # runs a command RUNS times, prints the best wall time in seconds
	local best=
	for _ in $(seq "$runs"); do
		local t0 t1
		t0=$(date +%s%N)
		"$@" >/dev/null 2>"$dir/err" || { echo "FAILED"; cp "$dir/err" "$dir/last-failure"; return; }
		t1=$(date +%s%N)
		local t=$(( (t1 - t0) / 1000000 ))
		[ -z "$best" ] || [ "$t" -lt "$best" ] && best=$t
	done
	echo "$best"
}

printf '%-10s %10s %18s %18s\n' workload "native ms" "mica-x86_64 ms" "qemu-x86_64 ms"
logm=0 logq=0 nm=0 nq=0
for w in "${workloads[@]}"; do
	name=${w%%|*}; cmd=${w#*|}
	# qemu-user does not search PATH: give every runner the full path.
	prog=${cmd%% *}; cmd="$(command -v "$prog")${cmd#"$prog"}"
	# gcc runs cc1 and as: mica-x86_64 follows execve into the translator;
	# qemu-x86_64 does not (without binfmt_misc), so gcc gets -wrapper.
	nat=$(best ${cmd/@WRAP@/})
	mic=$(best $MICA_X86 ${cmd/@WRAP@/})
	qem=; [ -n "$QEMU" ] && qem=$(best $QEMU ${cmd/@WRAP@/-wrapper $dir/qwrap})
	pm=; pq=
	extra=; [[ $name == *'*' ]] && extra=1	# not in the geometric mean
	if [[ $mic =~ ^[0-9]+$ ]]; then
		pm=$(python3 -c "print(f'{100*$nat/max($mic,1):.0f}%')")
	fi
	if [[ $mic =~ ^[0-9]+$ && -z $extra ]]; then
		logm=$(python3 -c "import math; print($logm + math.log(max($nat,1)/max($mic,1)))")
		nm=$((nm + 1))
	fi
	if [[ $qem =~ ^[0-9]+$ ]]; then
		pq=$(python3 -c "print(f'{100*$nat/max($qem,1):.0f}%')")
	fi
	if [[ $qem =~ ^[0-9]+$ && -z $extra ]]; then
		logq=$(python3 -c "import math; print($logq + math.log(max($nat,1)/max($qem,1)))")
		nq=$((nq + 1))
	fi
	printf '%-10s %10s %12s %5s %12s %5s\n' "$name" "$nat" "$mic" "$pm" "$qem" "$pq"
done
python3 -c "import math; print(f'geometric mean of speed vs native: mica-x86_64 {100*math.exp($logm/max($nm,1)):.0f}% over $nm, qemu-x86_64 {100*math.exp($logq/max($nq,1)):.0f}% over $nq')"
echo "(* extra row, not in the mean: long-running pure-Python compute)"
# Translation work for one run of each program (all its processes: gcc
# runs cc1 and as), from MICA_TRANSLATOR_STATS=1.
cat > "$dir/sum.py" <<'PY'
import sys
t = {}
for line in sys.stdin:
    for kv in line.split()[2:]:
        k, v = kv.split("=")
        t[k] = t.get(k, 0) + float(v)
b = t.get("blocks", 0)
if not b:
    print(f"{sys.argv[1]:<10} (no statistics)")
    sys.exit()
split = "%.0f/%.0f/%.0f" % (t["frontend_ms"], t["optimize_ms"], t["emit_ms"])
print(f"{sys.argv[1]:<10} {b:8.0f} {t['guest_bytes'] / 1024:10.0f} "
      f"{t['host_bytes'] / 1024:10.0f} {t['translate_ms']:12.1f} "
      f"{split:>13} {1000 * t['translate_ms'] / b:9.2f}")
PY
echo
printf '%-10s %8s %10s %10s %12s %12s %9s\n' workload blocks "guest KiB" "code KiB" "translate ms" "(fe/opt/emit)" "us/block"
for w in "${workloads[@]}"; do
	name=${w%%|*}; cmd=${w#*|}
	prog=${cmd%% *}; cmd="$(command -v "$prog")${cmd#"$prog"}"
	MICA_TRANSLATOR_STATS=1 $MICA_X86 ${cmd/@WRAP@/} 2>&1 >/dev/null |
		grep '^mica-x86_64 translation:' |
		python3 "$dir/sum.py" "$name"
done
