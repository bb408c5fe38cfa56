#!/usr/bin/env python3
"""Driver for scripts/bench-fingerprint (see that file for what it measures)."""

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM node:20-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM node:20-alpine
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
CMD ["node", "src/index.js"]
"""

DOCKERIGNORE = "node_modules\n.git\n*.log\ncoverage\n"

CDK_SCRIPT = """\
const fs = require('fs');
const path = require('path');
const { FileSystem, IgnoreMode } = require('aws-cdk-lib');
const dir = process.argv[2];
const runs = Number(process.argv[3] || 3);
const exclude = fs.readFileSync(path.join(dir, '.dockerignore'), 'utf8')
  .split('\\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const times = [];
let fp = '';
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  fp = FileSystem.fingerprint(dir, { ignoreMode: IgnoreMode.DOCKER, exclude });
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
console.log(JSON.stringify({ times, fp }));
"""


def generate(root, files, megabytes, seed=7):
    """Writes the context; returns (total files, total bytes, copied files, copied bytes)."""
    rng = random.Random(seed)
    budget = megabytes * 1_000_000
    # Shares of the file count and bytes: ignored node_modules, copied source
    # tree, a few large copied assets, a small ignored .git.
    n_modules = files // 2
    n_assets = max(files // 200, 1)
    n_git = 50
    n_src = files - n_modules - n_assets - n_git - 5
    bytes_modules = budget // 4
    bytes_assets = budget * 45 // 100
    bytes_src = budget - bytes_modules - bytes_assets
    stats = {"files": 0, "bytes": 0, "copied_files": 0, "copied_bytes": 0}

    def write(rel, size, copied):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        stats["files"] += 1
        stats["bytes"] += size
        if copied:
            stats["copied_files"] += 1
            stats["copied_bytes"] += size

    def sizes(count, total):
        # Mixed sizes: log-normal weights scaled to the byte budget.
        weights = [rng.lognormvariate(0, 1.2) for _ in range(count)]
        scale = total / sum(weights)
        return [max(1, int(w * scale)) for w in weights]

    for i, size in enumerate(sizes(n_modules, bytes_modules)):
        write(f"node_modules/pkg{i // 40:04d}/lib/sub{(i // 10) % 4}/f{i}.js", size, False)
    for i, size in enumerate(sizes(n_src, bytes_src)):
        write(f"src/mod{i // 60:03d}/part{(i // 15) % 4}/file{i}.js", size, True)
    for i in range(n_assets):
        write(f"public/assets/asset{i:03d}.bin", bytes_assets // n_assets, True)
    for i in range(n_git):
        write(f".git/objects/{i:02x}/obj{i}", 2000, False)
    for rel, text in [
        ("Dockerfile", DOCKERFILE),
        (".dockerignore", DOCKERIGNORE),
        ("package.json", '{"name":"bench","version":"1.0.0"}\n'),
        ("package-lock.json", '{"lockfileVersion":3}\n'),
        ("README.md", "# bench\n"),
    ]:
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)
        size = len(text.encode())
        stats["files"] += 1
        stats["bytes"] += size
        stats["copied_files"] += 1
        stats["copied_bytes"] += size
    return stats


def timed(cmd, env=None):
    """Runs cmd; returns (wall seconds, child CPU seconds, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout.strip()


def openssl_throughput():
    """Single-core SHA-256 bytes/s from `openssl speed` (16 KiB blocks), as
    (per CPU-second, per wall-clock second)."""
    def run(extra):
        out = subprocess.run(
            ["openssl", "speed", *extra, "-evp", "sha256", "-bytes", "16384", "-seconds", "3"],
            check=True, capture_output=True, text=True,
        ).stdout
        for line in out.splitlines():
            if line.startswith("sha256"):
                return float(line.split()[-1].rstrip("k")) * 1000
        raise RuntimeError("could not read openssl speed output")
    return run([]), run(["-elapsed"])


def cdk(dir_, cache_root, runs):
    prefix = os.path.join(cache_root, "imagedeploy", "bench-cdk")
    os.makedirs(prefix, exist_ok=True)
    if not os.path.isdir(os.path.join(prefix, "node_modules", "aws-cdk-lib")):
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", prefix,
             "aws-cdk-lib@2", "constructs@10"],
            check=True,
        )
    script = os.path.join(prefix, "fingerprint.js")
    with open(script, "w") as f:
        f.write(CDK_SCRIPT)
    # CDK keeps its own fingerprint cache (inode|mtime|size -> hash) under
    # ~/.cdk/cache: a fresh HOME makes its first run cold, the rest warm.
    home = tempfile.mkdtemp(prefix="bench-cdk-home-")
    env = dict(os.environ, NODE_PATH=os.path.join(prefix, "node_modules"), HOME=home)
    version = json.load(open(os.path.join(prefix, "node_modules", "aws-cdk-lib", "package.json")))["version"]
    wall, cpu, out = timed(["node", script, dir_, str(runs)], env=env)
    result = json.loads(out.splitlines()[-1])
    return version, result["times"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--files", type=int, default=30000)
    ap.add_argument("--megabytes", type=int, default=600)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-cdk", action="store_true")
    args = ap.parse_args()

    cache_root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    work = tempfile.mkdtemp(prefix="fingerprint-bench-")
    try:
        ctx = os.path.join(work, "context")
        t0 = time.perf_counter()
        stats = generate(ctx, args.files, args.megabytes)
        gen = time.perf_counter() - t0
        # Let every timestamp age past the stat cache's racy-timestamp margin.
        time.sleep(2.5)
        print(f"context: {stats['files']} files, {stats['bytes'] / 1e6:.0f} MB "
              f"(copied by the Dockerfile: {stats['copied_files']} files, {stats['copied_bytes'] / 1e6:.0f} MB; "
              f"ignored node_modules: {args.files // 2} files), generated in {gen:.1f} s")
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")

        cold_cmd = [args.binary, "--context", ctx, "--no-cache"]
        cold = [timed(cold_cmd) for _ in range(args.runs)]
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
        warm_cmd = [args.binary, "--context", ctx]
        first = timed(warm_cmd, env)
        warm = [timed(warm_cmd, env) for _ in range(args.runs * 2)]
        digests = {r[2] for r in cold} | {first[2]} | {r[2] for r in warm}
        if len(digests) != 1:
            sys.exit(f"digest mismatch between runs: {digests}")

        # Staging: the same cold fingerprint plus writing the normalised
        # snapshot the builder reads. Fresh (the Docker engine's way): every
        # copied file read, hashed and written again. Kept (buildah's way):
        # the first run writes everything, later runs only what changed.
        staged = []
        for i in range(args.runs):
            dest = os.path.join(work, f"staged-{i}")
            staged.append(timed(cold_cmd + ["--stage", dest]))
            shutil.rmtree(dest, ignore_errors=True)
            subprocess.run(["sync"], check=True)
        kept_dir = os.path.join(work, "kept")
        kept_cmd = cold_cmd + ["--stage-kept", kept_dir]
        kept_first = timed(kept_cmd)
        kept = [timed(kept_cmd) for _ in range(args.runs)]
        edited = []
        for i in range(args.runs):
            with open(os.path.join(ctx, "src", "mod000", "part0", "file0.js"), "a") as f:
                f.write(f"// edit {i}\n")
            edited.append(timed(kept_cmd))
        if {r[2] for r in staged} | {kept_first[2]} | {r[2] for r in kept} != {cold[0][2]}:
            sys.exit("staging changed the fingerprint")

        cpu_rate, wall_rate = openssl_throughput()
        limit1 = stats["copied_bytes"] / cpu_rate
        limit2 = limit1 / 2

        def med(rows, i):
            return statistics.median(r[i] for r in rows)

        cold_wall, cold_cpu = med(cold, 0), med(cold, 1)
        warm_wall, warm_cpu = med(warm, 0), med(warm, 1)
        print(f"openssl speed -evp sha256 (16 KiB): {cpu_rate / 1e6:.0f} MB/s per CPU-second "
              f"({wall_rate / 1e6:.0f} MB/s wall-clock during this run)")
        print(f"raw limit, {stats['copied_bytes'] / 1e6:.0f} MB copied: single core {limit1 * 1000:.0f} ms, two cores {limit2 * 1000:.0f} ms")
        print(f"ours cold (no stat cache), median of {len(cold)}: {cold_wall * 1000:.0f} ms wall, {cold_cpu * 1000:.0f} ms CPU "
              f"-> {cold_wall / limit2:.2f}x the two-core limit (wall), CPU {cold_cpu / limit1:.2f}x the single-core hashing work")
        print(f"ours warm (stat cache), median of {len(warm)}: {warm_wall * 1000:.0f} ms wall, {warm_cpu * 1000:.0f} ms CPU "
              f"(first run after cold, writing the cache: {first[0] * 1000:.0f} ms)")
        def staging(label, rows):
            wall, cpu = med(rows, 0), med(rows, 1)
            print(f"ours cold + {label}, median of {len(rows)}: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU "
                  f"-> staging {(wall - cold_wall) * 1000:.0f} ms wall, {(cpu - cold_cpu) * 1000:.0f} ms CPU")
        print(f"staging the builder's context ({stats['copied_files']} files, {stats['copied_bytes'] / 1e6:.0f} MB):")
        staging("fresh snapshot (--stage; Docker engine builds)", staged)
        staging("kept snapshot, first run (--stage-kept)", [kept_first])
        staging("kept snapshot, nothing changed (buildah builds)", kept)
        staging("kept snapshot, one file edited (buildah builds)", edited)
        if not args.skip_cdk:
            version, times = cdk(ctx, cache_root, 6)
            cdk_cold, cdk_warm = times[0], statistics.median(times[1:])
            print(f"CDK aws-cdk-lib {version} FileSystem.fingerprint(IgnoreMode.DOCKER): "
                  f"cold (empty ~/.cdk cache) {cdk_cold * 1000:.0f} ms, warm (its disk cache), median of {len(times) - 1}: "
                  f"{cdk_warm * 1000:.0f} ms -> ours cold is {cdk_cold / cold_wall:.1f}x faster, warm {cdk_warm / warm_wall:.1f}x faster")
        print(f"fingerprint: {digests.pop()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
