#!/usr/bin/env python3
"""hnswlib peer of mnemo's `vector` benchmark suite.

Builds an hnswlib index over a base vector file, then, for each ef of a
sweep, runs every query of a query vector file one call at a time on one
thread (like a user's query), `--reps` times, and reports the build time,
single-query throughput (median pass) and latency percentiles (over all
passes), the throughput of the same queries handed over in one call on one
thread (the C++ speed without Python's per-call overhead), and the ids found,
as one JSON object on stdout. Recall is
computed by the caller against its ground truth, so every system is scored
by the same code.

Vector files are mnemo's `vecfile` format (little-endian): magic `MNEMOVEC`,
version 1 (u32), dimension d (u32), row count n (u64), then n x d f32.

The Rust harness (crates/mnemo-bench/src/peers/hnswlib.rs) runs this script
with the interpreter of a virtual environment it creates under
${XDG_CACHE_HOME:-~/.cache}/mnemo/venvs/hnswlib-peer with pinned hnswlib and
numpy. Run by hand:

    hnswlib_peer.py --base base.vec --queries queries.vec --space l2 \
        --m 16 --ef-construction 200 --threads 2 --ef 10,20,40 --k 10 --reps 3 \
        --single-inserts 1000

OUTPUT: {"hnswlib": version, "numpy": version, "space": str, "m": int,
         "ef_construction": int, "build_threads": int, "elements": int,
         "build_seconds": float, "index_bytes": int,
         "resident_growth_bytes": int | null,
         "points": [{"ef": int, "qps": float, "batch_qps": float,
                     "p50_us": float, "p99_us": float, "ids": [[int]]}],
         "single_inserts": null | {"count": int, "p50_us": float, "p99_us": float}}

`index_bytes` is hnswlib's `index_file_size()`: the bytes of its saved
index, which are its level-0 block (links, vector and label of every
element) plus the upper-level link lists. In memory hnswlib holds more: a
mutex per element, the label-to-slot hash map, the element levels.
`resident_growth_bytes` is what building the index added to the process's
resident set (`VmRSS` of /proc/self/status; null where that is not available):
the index as it sits in memory, all of that included.
"""

import argparse
import importlib.metadata
import json
import math
import os
import statistics
import struct
import sys
import time

import hnswlib
import numpy as np

MAGIC = b"MNEMOVEC"
HEADER = 24


def read_vecfile(path):
    """Reads a vecfile into an (n, d) float32 array, checking header and size."""
    with open(path, "rb") as f:
        header = f.read(HEADER)
    if len(header) < HEADER or header[:8] != MAGIC:
        sys.exit(f"hnswlib_peer: {path} is not a vector file (bad header)")
    version, dim, rows = struct.unpack("<IIQ", header[8:])
    if version != 1:
        sys.exit(f"hnswlib_peer: {path}: unknown version {version}")
    size = os.path.getsize(path)
    if size != HEADER + 4 * dim * rows:
        sys.exit(f"hnswlib_peer: {path}: header says {rows} x {dim} but the file has {size} bytes")
    data = np.fromfile(path, dtype="<f4", count=dim * rows, offset=HEADER)
    return np.ascontiguousarray(data.reshape(rows, dim), dtype=np.float32)


def resident_bytes():
    """This process's resident set (`VmRSS` of Linux's /proc/self/status), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def percentile(sorted_values, p):
    """Nearest-rank percentile, the same definition as the Rust side."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(p * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--space", choices=["l2", "ip", "cosine"], required=True)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--ef", default="10,20,40,80,160,320",
                        help="comma-separated ef sweep")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=100,
                        help="untimed queries before each ef's timed passes")
    parser.add_argument("--reps", type=int, default=3,
                        help="timed passes per ef: QPS is their median, the latency "
                             "percentiles are over every query of every pass")
    parser.add_argument("--single-inserts", type=int, default=0,
                        help="after the sweep, insert this many query vectors one "
                             "call at a time (one thread) and time each")
    args = parser.parse_args()
    efs = [int(x) for x in args.ef.split(",") if x]

    base = read_vecfile(args.base)
    queries = read_vecfile(args.queries)
    if base.shape[1] != queries.shape[1]:
        sys.exit(f"hnswlib_peer: base dimension {base.shape[1]} != query dimension {queries.shape[1]}")
    n, dim = base.shape

    resident_before = resident_bytes()
    index = hnswlib.Index(space=args.space, dim=dim)
    index.init_index(max_elements=n, ef_construction=args.ef_construction, M=args.m,
                     random_seed=args.seed)
    index.set_num_threads(args.threads)
    print(f"hnswlib_peer: building over {n} x {dim} ({args.space}, M {args.m}, "
          f"ef_construction {args.ef_construction}, {args.threads} threads)", file=sys.stderr)
    started = time.perf_counter()
    index.add_items(base, np.arange(n, dtype=np.int64), num_threads=args.threads)
    build_seconds = time.perf_counter() - started
    resident_after = resident_bytes()
    resident_growth = (
        resident_after - resident_before
        if resident_before is not None and resident_after is not None
        else None
    )
    print(f"hnswlib_peer: built in {build_seconds:.1f} s", file=sys.stderr)

    index.set_num_threads(1)
    points = []
    for ef in efs:
        index.set_ef(ef)
        for q in queries[: args.warmup]:
            index.knn_query(q, k=args.k, num_threads=1)
        ids = np.zeros((len(queries), args.k), dtype=np.int64)
        latencies = []
        passes = []
        batches = []
        clock = time.perf_counter_ns
        for _ in range(max(args.reps, 1)):
            started = time.perf_counter()
            for i, q in enumerate(queries):
                t = clock()
                labels, _ = index.knn_query(q, k=args.k, num_threads=1)
                latencies.append((clock() - t) / 1e3)
                ids[i] = labels[0]
            passes.append(time.perf_counter() - started)
            started = time.perf_counter()
            index.knn_query(queries, k=args.k, num_threads=1)
            batches.append(time.perf_counter() - started)
        latencies.sort()
        points.append({
            "ef": ef,
            "qps": len(queries) / statistics.median_high(passes),
            "batch_qps": len(queries) / statistics.median_high(batches),
            "p50_us": percentile(latencies, 0.5),
            "p99_us": percentile(latencies, 0.99),
            "ids": ids.tolist(),
        })

    index_bytes = index.index_file_size()
    elements = index.element_count
    single_inserts = None
    count = min(args.single_inserts, len(queries))
    if count > 0:
        index.resize_index(n + count)
        micros = []
        for i in range(count):
            t = time.perf_counter_ns()
            index.add_items(queries[i : i + 1], np.array([n + i], dtype=np.int64), num_threads=1)
            micros.append((time.perf_counter_ns() - t) / 1e3)
        micros.sort()
        single_inserts = {
            "count": count,
            "p50_us": percentile(micros, 0.5),
            "p99_us": percentile(micros, 0.99),
        }

    json.dump({
        "hnswlib": importlib.metadata.version("hnswlib"),
        "numpy": np.__version__,
        "space": args.space,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "build_threads": args.threads,
        "elements": elements,
        "build_seconds": build_seconds,
        "index_bytes": index_bytes,
        "resident_growth_bytes": resident_growth,
        "points": points,
        "single_inserts": single_inserts,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
