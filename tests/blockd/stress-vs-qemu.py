#!/usr/bin/env python3
"""Differential stress (make test-slow): random operations applied to two
images, one through Mica (blk-io, mica-img) and one through QEMU (qemu-io,
qemu-img).  After every few steps both must pass `qemu-img check`, compare
equal, and `mica-img map` / `check` of Mica's image must print what
qemu-img prints for it.  Seeds and option sets are fixed, so a failure
names a reproducible step.  Closing line: "N passed, N failed, N skipped".
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("BUILD", "build")
MICA_IMG = os.path.abspath(os.path.join(BUILD, "bin/mica-img"))
BLK_IO = os.path.abspath(os.path.join(BUILD, "tests/blk-io"))
STEPS = int(os.environ.get("MICA_STRESS_STEPS", "300"))
SEEDS = [int(x) for x in os.environ.get("MICA_STRESS_SEEDS", "1 2 3").split()]

CONFIGS = [
    ("default", ["-o", "cluster_size=65536"]),
    ("4k-rc1", ["-o", "cluster_size=4096,refcount_bits=1"]),
    ("v2-512", ["-o", "compat=0.10,cluster_size=512"]),
    ("backing", ["-o", "cluster_size=16384,refcount_bits=64", "-b", "base.qcow2", "-F", "qcow2"]),
    ("zstd", ["-o", "compression_type=zstd,cluster_size=8192"]),
]

passed = failed = 0


def run(*args):
    return subprocess.run(args, capture_output=True, text=True)


def ok(what):
    global passed
    passed += 1
    print("ok   " + what)


def bad(what, detail=""):
    global failed
    failed += 1
    print("FAIL " + what)
    if detail:
        print(detail[-2000:])


def allocated(img, off):
    """Is the cluster at OFF allocated (or a zero cluster) in IMG itself?"""
    for e in json.loads(run("qemu-img", "map", "--output=json", img).stdout):
        if e["start"] <= off < e["start"] + e["length"]:
            return e["depth"] == 0 and e["present"]
    return True


def random_op(r, size, cluster, snaps, config):
    """One step as (mica argv, qemu argv, description); sizes may change."""
    kind = r.choices(["write", "zero", "discard", "compress", "snap-c",
                      "snap-a", "snap-d", "resize"],
                     [50, 10, 8, 5, 5, 4, 4, 2])[0]
    length = r.choice([1, 512, 4096, cluster, 3 * cluster + 17, 300000])
    length = min(length, size)
    off = r.randrange(0, size - length + 1)
    if kind == "write":
        cmd = "write -P %d %d %d" % (r.randrange(1, 256), off, length)
    elif kind == "zero":
        cmd = "write -z %d %d" % (off, length)
    elif kind == "discard":
        cmd = "discard %d %d" % (off, length)
    elif kind == "compress":
        off = r.randrange(0, size // cluster) * cluster
        cmd = "write -c -P %d %d %d" % (r.randrange(1, 256), off,
                                        min(cluster, size - off))
        # both tools compress only into unallocated clusters
        return ("compress", off, cmd)
    elif kind == "snap-c":
        if "rc1" in config:
            return None
        name = "s%d" % r.randrange(1000)
        if name in snaps:
            return None
        snaps.append(name)
        return ("img", ["snapshot", "-c", name], ["snapshot", "-c", name])
    elif kind in ("snap-a", "snap-d"):
        if not snaps:
            return None
        name = r.choice(snaps)
        if kind == "snap-d":
            snaps.remove(name)
        flag = "-a" if kind == "snap-a" else "-d"
        return ("img", ["snapshot", flag, name], ["snapshot", flag, name])
    else:
        if snaps:
            return None        # apply needs the snapshot's disk size
        return ("resize", size + r.choice([cluster, 1 << 20]))
    return ("io", cmd)


def stress(config, opts, seed):
    r = random.Random(seed)
    size = 4 << 20
    cluster = 65536
    for i, o in enumerate(opts):
        if o.startswith("cluster_size=") or ",cluster_size=" in o:
            cluster = int(o.split("cluster_size=")[1].split(",")[0])
    for img in ("m.qcow2", "q.qcow2"):
        res = run("qemu-img", "create", "-f", "qcow2", *opts, img, str(size))
        if res.returncode:
            bad("%s: create" % config, res.stderr)
            return
    snaps = []
    done = {}
    for step in range(STEPS):
        op = random_op(r, size, cluster, snaps, config)
        if op is None:
            continue
        desc = "%s seed %d step %d: %s" % (config, seed, step, op)
        if op[0] == "io":
            m = run(BLK_IO, "-c", op[1], "m.qcow2")
            q = run("qemu-io", "-c", op[1], "q.qcow2")
        elif op[0] == "compress":
            # compressed writes only go to clusters free in both images
            if allocated("m.qcow2", op[1]) or allocated("q.qcow2", op[1]):
                continue
            m = run(BLK_IO, "-c", op[2], "m.qcow2")
            q = run("qemu-io", "-c", op[2], "q.qcow2")
        elif op[0] == "img":
            m = run(MICA_IMG, *op[1], "m.qcow2")
            q = run("qemu-img", *op[2], "q.qcow2")
        else:
            size = op[1]
            m = run(MICA_IMG, "resize", "m.qcow2", str(size))
            q = run("qemu-img", "resize", "q.qcow2", str(size))
        if op[0] == "io":
            w = op[1].split()
            kind = w[0] + (w[1] if w[0] == "write" else "")
        else:
            kind = op[1][1] if op[0] == "img" else op[0]
        done[kind] = done.get(kind, 0) + 1
        if m.returncode != 0 or q.returncode != 0 or "error" in q.stdout.lower():
            bad(desc, m.stderr + q.stderr + q.stdout)
            return
        if step % 10 == 9 or step == STEPS - 1:
            chk = run("qemu-img", "check", "m.qcow2")
            cmp_ = run("qemu-img", "compare", "m.qcow2", "q.qcow2")
            mq = run(MICA_IMG, "check", "q.qcow2")
            qq = run("qemu-img", "check", "q.qcow2")
            mmap = run(MICA_IMG, "map", "--output=json", "m.qcow2")
            qmap = run("qemu-img", "map", "--output=json", "m.qcow2")
            if chk.returncode or cmp_.returncode:
                bad(desc + ": check/compare", chk.stdout + cmp_.stdout)
                return
            if mq.stdout != qq.stdout or mq.returncode != qq.returncode:
                bad(desc + ": mica-img check of qemu's image", mq.stdout + qq.stdout)
                return
            if mmap.stdout != qmap.stdout:
                bad(desc + ": map differs", mmap.stdout + qmap.stdout)
                return
    ok("%s seed %d: %d steps agree with qemu (%s)" % (
        config, seed, STEPS,
        " ".join("%s:%d" % kv for kv in sorted(done.items()))))


def main():
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("0 passed, 0 failed, 1 skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix="mica-stress.")
    os.chdir(tmp)
    run("qemu-img", "create", "-f", "qcow2", "base.qcow2", "4M")
    run("qemu-io", "-c", "write -P 0xab 0 4M", "base.qcow2")
    for config, opts in CONFIGS:
        for seed in SEEDS:
            stress(config, opts, seed)
    shutil.rmtree(tmp)
    print("%d passed, %d failed, 0 skipped" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
