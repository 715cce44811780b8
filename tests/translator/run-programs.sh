#!/bin/bash
# Run real programs under mica-x86_64 and compare with native runs.
# Prints "N passed, N failed, N skipped".
BUILD=${BUILD:-build}
MICA=$BUILD/bin/mica-x86_64
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok()   { echo "ok   $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL $1"; fail=$((fail + 1)); }
skipped() { echo "skip $1: $2"; skip=$((skip + 1)); }

# same NAME CMD...: stdout and exit status must match the native run.
same() {
	local name=$1; shift
	"$@" >"$tmp/native.out" 2>/dev/null; local nrc=$?
	timeout 60 "$MICA" "$@" >"$tmp/mica.out" 2>"$tmp/mica.err"; local mrc=$?
	if [ "$nrc" = "$mrc" ] && cmp -s "$tmp/native.out" "$tmp/mica.out"; then
		ok "$name"
	else
		bad "$name (exit native $nrc, mica $mrc)"
		head -5 "$tmp/mica.err"
	fi
}

# same_in INPUT NAME CMD...: like same, with INPUT on stdin for both.
same_in() {
	local input=$1; shift
	local name=$1; shift
	"$@" <"$input" >"$tmp/native.out" 2>/dev/null; local nrc=$?
	timeout 60 "$MICA" "$@" <"$input" >"$tmp/mica.out" 2>"$tmp/mica.err"; local mrc=$?
	if [ "$nrc" = "$mrc" ] && cmp -s "$tmp/native.out" "$tmp/mica.out"; then
		ok "$name"
	else
		bad "$name (exit native $nrc, mica $mrc)"
		head -5 "$tmp/mica.err"
	fi
}

# Clear one-line errors.
"$MICA" /nonexistent/prog >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 127 ] && [ "$(wc -l <"$tmp/err")" = 1 ]; then ok "missing file"; else bad "missing file ($rc)"; fi
echo "hello" >"$tmp/text"
"$MICA" "$tmp/text" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 126 ] && grep -q "not an ELF" "$tmp/err"; then ok "non-ELF"; else bad "non-ELF ($rc)"; fi
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\002\000\267\000' >"$tmp/arm"
head -c 64 /dev/zero >>"$tmp/arm"
"$MICA" "$tmp/arm" >/dev/null 2>"$tmp/err"; rc=$?
if [ $rc = 126 ] && grep -q "foreign architecture" "$tmp/err"; then ok "foreign arch"; else bad "foreign arch ($rc)"; fi

# Programs built here, static.
if command -v gcc >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libc.a ]; then
	for src in tests/translator/progs/*.c; do
		[ -e "$src" ] || continue
		exe=$tmp/$(basename "$src" .c)
		gcc -O2 -static -pthread -o "$exe" "$src" -lm 2>/dev/null || { bad "build $src"; continue; }
		same "$(basename "$src" .c)" "$exe" arg1 arg2
	done
else
	skipped "static test programs" "no static libc"
fi

BB=/bin/busybox
if [ -x "$BB" ] && file -L "$BB" 2>/dev/null | grep -q static || [ -x "$BB" ]; then
	printf 'b\na\nc\na\n' >"$tmp/lines"
	same "busybox echo" $BB echo hello world
	same "busybox true" $BB true
	same "busybox false" $BB false
	same "busybox sort" $BB sort "$tmp/lines"
	same "busybox uniq" $BB uniq "$tmp/lines"
	same "busybox wc" $BB wc "$tmp/lines"
	same "busybox cat" $BB cat "$tmp/lines"
	same "busybox expr" $BB expr 6 \* 7
	same "busybox seq" $BB seq 1 50
	same "busybox basename" $BB basename /a/b/c.txt .txt
	same "busybox md5sum" $BB md5sum "$tmp/lines"
	same "busybox sha256sum" $BB sha256sum "$tmp/lines"
	same_in "$tmp/lines" "busybox tr" $BB tr a-z A-Z
	same "busybox sh -c" $BB sh -c 'x=0; for i in 1 2 3 4 5; do x=$((x+i)); done; echo $x'
	same "busybox awk" $BB awk 'BEGIN { s = 0; for (i = 0; i < 100; i++) s += i * i; print s, s / 7, sqrt(s) }'
else
	skipped "busybox applets" "busybox-static not installed"
fi

# Shell pipelines: fork-heavy (each child gets a snapshot of the code
# cache), #! scripts re-entering the translator through execve.
printf '#!/bin/sh\necho script "$@"\n' >"$tmp/script.sh"
chmod +x "$tmp/script.sh"
same "#! script" "$tmp/script.sh" a b
same "sh fork/exec loop" /bin/sh -c 'n=0; for i in 1 2 3 4 5 6 7 8; do n=$(echo $n $i | awk "{print \$1 + \$2}"); done; echo $n; ls / | sort | head -3'
[ -x /bin/bash ] && same "bash subshells" /bin/bash -c 'for i in $(seq 1 10); do x=$( (echo $i; echo b) | tr b c | wc -l); done; echo $x'

# Dynamically linked Debian programs (the guest's own ld.so and libc).
head -c 300000 /dev/urandom | base64 >"$tmp/data"
command -v sha256sum >/dev/null && same "sha256sum (dynamic)" sha256sum "$tmp/data"
command -v md5sum >/dev/null && same "md5sum (dynamic)" md5sum "$tmp/data"
command -v sort >/dev/null && same "sort (dynamic)" sort "$tmp/data"
command -v gzip >/dev/null && same "gzip (dynamic)" gzip -c -6 "$tmp/data"
command -v xz >/dev/null && same "xz (dynamic)" xz -c -1 "$tmp/data"
command -v xz >/dev/null && same "xz -T2 (threads)" xz -T2 -c -1 "$tmp/data"
command -v sort >/dev/null && same "sort --parallel=4 (threads)" sort --parallel=4 -S 100K "$tmp/data"
if command -v gzip >/dev/null; then
	# A 600 KiB code cache: gzip and its libc flush it many times.
	gzip -c -9 "$tmp/data" >"$tmp/native.gz"
	if MICA_TRANSLATOR_CACHE_KB=600 MICA_TRANSLATOR_STATS=1 "$MICA" "$(command -v gzip)" -c -9 "$tmp/data" \
		>"$tmp/mica.gz" 2>"$tmp/stats" && cmp -s "$tmp/native.gz" "$tmp/mica.gz" &&
	   ! grep -q "cache flushes 0," "$tmp/stats"; then
		ok "gzip with a tiny code cache (flushes)"
	else
		bad "gzip with a tiny code cache"
		cat "$tmp/stats"
	fi
	gzip -c "$tmp/data" >"$tmp/data.gz"
	same "gunzip (dynamic)" gzip -dc "$tmp/data.gz"
fi
PY=$(ls /usr/bin/python3.[0-9]* 2>/dev/null | grep -E "python3\.[0-9]+$" | head -1)
[ -n "$PY" ] && same "python3 (dynamic)" "$PY" -c 'import json, hashlib; d = {str(i): [i * 1.5, str(i) * 3] for i in range(5000)}; s = json.dumps(d); print(len(s), hashlib.sha256(s.encode()).hexdigest())'
# Threads and a small code cache: flushes must first get every thread
# out of translated code.
if [ -n "$PY" ]; then
	cat >"$tmp/threads.py" <<'PYEOF'
import threading, json
r = []
def f(k):
    s = 0
    for i in range(4000):
        s += len(json.dumps({str(i): [i, k]}))
    r.append(s)
t = [threading.Thread(target=f, args=(k,)) for k in range(4)]
[x.start() for x in t]
[x.join() for x in t]
print(sorted(r))
PYEOF
	"$PY" "$tmp/threads.py" >"$tmp/native.out"
	if MICA_TRANSLATOR_CACHE_KB=2048 MICA_TRANSLATOR_STATS=1 timeout 120 "$MICA" "$PY" "$tmp/threads.py" \
		>"$tmp/mica.out" 2>"$tmp/stats" && cmp -s "$tmp/native.out" "$tmp/mica.out" &&
	   ! grep -q "cache flushes 0," "$tmp/stats"; then
		ok "python threads with flushes"
	else
		bad "python threads with flushes"
		tail -3 "$tmp/stats"
	fi
fi
if command -v gcc >/dev/null; then
	gcc -O2 -c -o "$tmp/native.o" tests/translator/progs/float.c
	if timeout 120 "$MICA" "$(command -v gcc)" -O2 -c -o "$tmp/mica.o" tests/translator/progs/float.c &&
	   cmp -s "$tmp/native.o" "$tmp/mica.o"; then
		ok "gcc -c (dynamic, fork+exec of cc1 and as)"
	else
		bad "gcc -c (dynamic)"
	fi
fi

# CPUID: glibc must see x86-64-v2 (SSE3..SSE4.2, POPCNT, CX16, LAHF) and
# take its SSE4.2/SSSE3 string functions.
LDSO=/lib64/ld-linux-x86-64.so.2
if [ -x "$LDSO" ] && "$LDSO" --help 2>/dev/null | grep -q "x86-64-v2 (supported"; then
	if "$MICA" "$LDSO" --help 2>&1 | grep -q "x86-64-v2 (supported, searched)"; then
		ok "ld.so sees x86-64-v2 hwcaps"
	else
		bad "ld.so sees x86-64-v2 hwcaps"
	fi
else
	skipped "x86-64-v2 hwcaps" "host ld.so or CPU without x86-64-v2"
fi
# A library built twice, the copy in glibc-hwcaps/x86-64-v2 must win.
if command -v gcc >/dev/null && "$LDSO" --help 2>/dev/null | grep -q "x86-64-v2 (supported"; then
	mkdir -p "$tmp/lib/glibc-hwcaps/x86-64-v2"
	echo 'const char *probe(void) { return "baseline"; }' >"$tmp/probe.c"
	gcc -shared -fPIC -o "$tmp/lib/libprobe.so" "$tmp/probe.c"
	echo 'const char *probe(void) { return "x86-64-v2"; }' >"$tmp/probe.c"
	gcc -shared -fPIC -o "$tmp/lib/glibc-hwcaps/x86-64-v2/libprobe.so" "$tmp/probe.c"
	printf '#include <stdio.h>\nconst char *probe(void);\nint main(void) { puts(probe()); return 0; }\n' >"$tmp/useprobe.c"
	gcc -o "$tmp/useprobe" "$tmp/useprobe.c" -L"$tmp/lib" -lprobe
	if [ "$(LD_LIBRARY_PATH=$tmp/lib timeout 60 "$MICA" "$tmp/useprobe")" = x86-64-v2 ]; then
		ok "glibc-hwcaps/x86-64-v2 library preferred"
	else
		bad "glibc-hwcaps/x86-64-v2 library preferred"
	fi
fi
if command -v gcc >/dev/null && grep -qw sse4_2 /proc/cpuinfo; then
	gcc -O2 -o "$tmp/sse42-dyn" tests/translator/progs/sse42.c
	"$tmp/sse42-dyn" >"$tmp/native.out"
	if MICA_TRANSLATOR_STATS=1 timeout 60 "$MICA" "$tmp/sse42-dyn" >"$tmp/mica.out" 2>"$tmp/stats" &&
	   cmp -s "$tmp/native.out" "$tmp/mica.out" &&
	   grep -Eq "ssse3 [1-9][0-9]* sse4.1 [0-9]+ sse4.2 [1-9]" "$tmp/stats"; then
		ok "glibc string functions on SSSE3/SSE4.2 paths (dynamic)"
	else
		bad "glibc string functions on SSSE3/SSE4.2 paths (dynamic)"
		grep translated "$tmp/stats"
	fi
fi

# gcc compiling and linking under the translator; the result runs both
# natively and translated.
if command -v gcc >/dev/null; then
	if timeout 180 "$MICA" "$(command -v gcc)" -O2 -o "$tmp/hello-mica" tests/translator/progs/strings.c 2>"$tmp/gcc.err"; then
		"$tmp/hello-mica" >"$tmp/a.out.native" 2>/dev/null
		gcc -O2 -o "$tmp/hello-native" tests/translator/progs/strings.c
		"$tmp/hello-native" >"$tmp/b.out.native" 2>/dev/null
		if cmp -s "$tmp/a.out.native" "$tmp/b.out.native"; then
			ok "gcc compile+link (dynamic), result runs natively"
		else
			bad "gcc compile+link (dynamic), result runs natively"
		fi
		same "gcc-built program translated" "$tmp/hello-mica"
	else
		bad "gcc compile+link (dynamic)"
		head -5 "$tmp/gcc.err"
	fi
fi

# find and grep over a tree.
command -v find >/dev/null && same "find over a tree" find translator tests -name "*.c" -newer translator/README.md -o -name "*.h" -size -20k
command -v grep >/dev/null && same "grep -r over a tree" grep -rnE "x86_[a-z]+_(op|valid)|static inline" translator tests
command -v grep >/dev/null && same "grep -ri fixed strings" grep -rciF "helper" translator

# Python with threads and signals (SIGALRM timers interrupting threads).
if [ -n "$PY" ]; then
	cat >"$tmp/sig.py" <<'PYEOF'
import signal, threading, time, os
hits = []
def on_alarm(sig, frame):
    hits.append(sig)
signal.signal(signal.SIGALRM, on_alarm)
signal.signal(signal.SIGUSR1, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
out = []
def work(k):
    s = 0
    for i in range(200000):
        s += i * k
    out.append(s)
t = [threading.Thread(target=work, args=(k,)) for k in range(3)]
[x.start() for x in t]
[x.join() for x in t]
os.kill(os.getpid(), signal.SIGUSR1)
signal.setitimer(signal.ITIMER_REAL, 0)
time.sleep(0.05)
print(sorted(out), signal.SIGUSR1 in hits)
PYEOF
	same "python threads and signals" "$PY" "$tmp/sig.py"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
