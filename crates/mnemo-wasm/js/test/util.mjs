// Shared by the package's tests: where the built package and the native
// reference are, a deterministic data set, and the native replay.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
/** The package scripts/build-npm built. */
export const NPM_DIR = process.env.MNEMO_NPM_DIR ?? path.join(ROOT, "target/npm");
/** The native engine driven by the same code (crates/mnemo-wasm/examples/replay.rs). */
export const REPLAY_BIN = process.env.MNEMO_REPLAY_BIN ?? path.join(ROOT, "target/ci/examples/replay");

if (!fs.existsSync(path.join(NPM_DIR, "mnemo.js"))) {
  throw new Error(`no package in ${NPM_DIR}: run scripts/build-npm first`);
}

/** The package's main module. */
export async function loadPackage() {
  return import(path.join(NPM_DIR, "mnemo.js"));
}

/** A seeded generator of floats in [-1, 1) (xorshift32). */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

const WORDS = ["tea", "coffee", "river", "mountain", "paris", "berlin", "meeting", "project", "launch",
  "budget", "garden", "piano", "dinner", "flight", "doctor", "birthday", "report", "bug", "deploy", "sister"];

/**
 * `n` memories with texts, tags, times and `dimension`-long vectors, and
 * `q` queries with texts and vectors: the same for every run.
 */
export function dataset(n, q, dimension, seed = 7) {
  const next = rng(seed);
  const pick = () => WORDS[Math.floor((next() + 1) / 2 * WORDS.length) % WORDS.length];
  const memories = [];
  const vectors = new Float32Array(n * dimension);
  for (let i = 0; i < n; i++) {
    memories.push({
      content: `${pick()} ${pick()} ${pick()} note ${i}`,
      tags: [pick()],
      at: new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString(),
    });
    for (let d = 0; d < dimension; d++) vectors[i * dimension + d] = next();
  }
  const queries = [];
  for (let i = 0; i < q; i++) {
    const vector = new Float32Array(dimension);
    for (let d = 0; d < dimension; d++) vector[d] = next();
    queries.push({ query: `${pick()} ${pick()}`, vector });
  }
  return { memories, vectors, queries };
}

/**
 * The native engine's answers to remembering `data` in batches of
 * `batch` and recalling each query with `k` hits (a `vectors` namespace).
 */
export function nativeRecall(data, dimension, k, batch = 500) {
  const calls = [];
  for (let at = 0; at < data.memories.length; at += batch) {
    const memories = data.memories.slice(at, at + batch);
    calls.push({
      op: "remember",
      body: { memories },
      vectors: Array.from(data.vectors.subarray(at * dimension, (at + memories.length) * dimension)),
    });
  }
  for (const q of data.queries) {
    calls.push({ op: "recall", body: { query: q.query, k }, vectors: Array.from(q.vector) });
  }
  const out = execFileSync(REPLAY_BIN, {
    input: JSON.stringify({ namespace: "same", embedder: "vectors", dimension, calls }),
    maxBuffer: 1 << 28,
  });
  return JSON.parse(out).filter((answer) => Array.isArray(answer.hits)).map((answer) => answer.hits.map((h) => h.memory.id));
}
