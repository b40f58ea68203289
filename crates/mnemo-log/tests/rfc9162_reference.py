#!/usr/bin/env python3
"""An independent RFC 9162 (Certificate Transparency 2.0) Merkle tree.

Written straight from RFC 9162 section 2.1 with hashlib, sharing no code with
mnemo. Reads leaves (hex, one per line) on stdin and prints, for every tree
size n, the root, the audit path of every leaf and the consistency proof
from every smaller size, as JSON.
"""
import hashlib
import json
import sys


def h(data):
    return hashlib.sha256(data).digest()


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return h(b"")
    if n == 1:
        return h(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m, leaves):
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def main():
    leaves = [bytes.fromhex(line.strip()) for line in sys.stdin if line.strip()]
    out = []
    for n in range(len(leaves) + 1):
        entry = {"size": n, "root": mth(leaves[:n]).hex()}
        entry["paths"] = [[x.hex() for x in path(m, leaves[:n])] for m in range(n)]
        entry["consistency"] = [
            [x.hex() for x in subproof(m, leaves[:n], True)] for m in range(1, n + 1)
        ]
        out.append(entry)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
