// The browser suite's page: mnemo's npm package (the engine in the
// package's own module Worker) beside edgevec and hnswlib-wasm (both run in
// this page's main thread, as their packages are made to), on the same
// vectors. bench_browser.mjs loads the page and calls `window.bench.*` one
// phase at a time; each phase answers plain JSON: times in milliseconds
// (performance.now(), 5 µs resolution when the page is cross-origin
// isolated, which the driver's server makes it) and result lists as base-row
// numbers. Recall decides only which ef a peer is measured at; the recorded
// recall is computed again in Rust from the rows answered here.
//
// Every input a timed call takes (the batch's texts and vectors, the query
// vectors) is made before its timer starts, as a copy with a buffer of its
// own: a typed array posted to a Worker is cloned with its whole buffer, so
// a view into the full data set would time a copy of all of it.

import { Mnemo } from "/npm/mnemo.js";

/** Recall weights that leave the vector signal alone. */
const VECTOR_ONLY = { vector: 1, keyword: 0, activation: 0, recency: 0, importance: 0, time: 0, tags: 0 };
/** The name of the OPFS database's namespace. */
const NAMESPACE = "bench";

const now = () => performance.now();

function log(message) {
  console.log(`[page] ${message}`);
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.arrayBuffer();
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.json();
}

/** Rows `start..end` of a flat row-major array, as a copy. */
function rows(flat, dimension, start, end) {
  return flat.slice(start * dimension, end * dimension);
}

/** Each of the `count` rows of `flat` as a Float32Array of its own. */
function rowList(flat, dimension, count) {
  return Array.from({ length: count }, (_, i) => rows(flat, dimension, i, i + 1));
}

/** Mean recall@k of `found` (per query, base rows) against `truth` (query-major, k per query). */
function recallAt(found, truth, k) {
  let hits = 0;
  for (let q = 0; q < found.length; q++) {
    const want = new Set(truth.subarray(q * k, (q + 1) * k));
    for (const row of found[q].slice(0, k)) if (want.has(row)) hits++;
  }
  return hits / (found.length * k);
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The vectors phase's data: base rows, their texts, queries and their exact neighbours. */
async function loadVectorData(cfg) {
  const d = cfg.dimension;
  const [base, texts, queries, truth] = await Promise.all([
    fetchBytes(cfg.data.base).then((b) => new Float32Array(b)),
    fetchJson(cfg.data.texts),
    fetchBytes(cfg.data.queries).then((b) => new Float32Array(b)),
    fetchBytes(cfg.data.truth).then((b) => new Uint32Array(b)),
  ]);
  const n = cfg.n;
  const q = cfg.queries;
  if (base.length !== n * d || texts.length !== n || queries.length !== q * d || truth.length !== q * cfg.k) {
    throw new Error(`data sizes: ${base.length / d} rows, ${texts.length} texts, ${queries.length / d} queries, ${truth.length / cfg.k} truths`);
  }
  const batches = [];
  for (let s = 0; s < n; s += cfg.batch) {
    const e = Math.min(s + cfg.batch, n);
    batches.push({ start: s, end: e });
  }
  return { base, texts, queries: rowList(queries, d, q), truth, batches };
}

// ---- mnemo -------------------------------------------------------------

/** A fresh in-memory database filled batch by batch with rememberMany; every call timed. */
async function mnemoBuild(data, cfg, run) {
  const d = cfg.dimension;
  const db = await Mnemo.open({ name: `vectors-${run}`, storage: "memory" });
  const ns = await db.namespace(NAMESPACE, { embedder: "vectors", dimension: d });
  const idToRow = new Map();
  const batchMs = [];
  let totalMs = 0;
  for (const { start, end } of data.batches) {
    const memories = data.texts.slice(start, end);
    const vectors = rows(data.base, d, start, end);
    const t = now();
    const ids = await ns.rememberMany(memories, { vectors, dimension: d });
    const ms = now() - t;
    batchMs.push(ms);
    totalMs += ms;
    if (ids.length !== end - start) throw new Error(`rememberMany answered ${ids.length} ids for ${end - start} memories`);
    ids.forEach((id, i) => {
      // A repeated id (identical content merged) would map hits to the wrong rows.
      if (idToRow.has(id)) throw new Error(`memory ${start + i} got id ${id}, already row ${idToRow.get(id)}'s`);
      idToRow.set(id, start + i);
    });
  }
  return { db, ns, idToRow, batchMs, totalMs, storage: db.storage };
}

/**
 * One pass over the queries, one recall at a time: with `ef`, `k`
 * candidates and that search width, hits without their memories (ids,
 * scores and signals: what the peers answer); without, the engine's
 * defaults, memories included.
 */
async function mnemoPass(sys, queries, k, collect, ef) {
  const latencyUs = [];
  const found = [];
  const tuning = ef === undefined ? {} : { candidates: k, searchWidth: ef, includeMemory: false };
  const t0 = now();
  for (const vector of queries) {
    const t = now();
    const answer = await sys.ns.recall("", { k, vector, weights: VECTOR_ONLY, spreading: false, ...tuning });
    latencyUs.push((now() - t) * 1000);
    if (collect) found.push(answer.hits.map((h) => sys.idToRow.get(h.id)));
  }
  return { totalMs: now() - t0, latencyUs, found };
}

// ---- edgevec -----------------------------------------------------------

let edgevec = null;

async function loadEdgevec() {
  if (!edgevec) {
    const module = await import("/node_modules/edgevec/edgevec.js");
    await module.default();
    edgevec = module;
  }
  return edgevec;
}

/**
 * An EdgeVec HNSW index (its search ef is fixed at construction) filled with
 * insertBatchFlat. Its metric is the manifest's: "l2", since "cosine" and
 * "dot" in edgevec 0.9.0 answer the least similar vectors first; on unit
 * vectors the l2 order is the cosine order.
 */
async function edgevecBuild(data, cfg, ef) {
  const { EdgeVec, EdgeVecConfig } = await loadEdgevec();
  const d = cfg.dimension;
  const config = new EdgeVecConfig(d);
  config.metric = cfg.edgevec_metric;
  config.m = cfg.hnsw.m;
  config.m0 = cfg.hnsw.m0;
  config.ef_construction = cfg.hnsw.ef_construction;
  config.ef_search = ef;
  const index = new EdgeVec(config);
  const idToRow = new Map();
  const batchMs = [];
  let totalMs = 0;
  for (const { start, end } of data.batches) {
    const vectors = rows(data.base, d, start, end);
    const t = now();
    const ids = index.insertBatchFlat(vectors, end - start);
    const ms = now() - t;
    batchMs.push(ms);
    totalMs += ms;
    if (ids.length !== end - start) throw new Error(`insertBatchFlat answered ${ids.length} ids for ${end - start} vectors`);
    ids.forEach((id, i) => idToRow.set(id, start + i));
  }
  return { index, idToRow, batchMs, totalMs, ef };
}

function edgevecPass(sys, queries, k, collect) {
  const latencyUs = [];
  const found = [];
  const t0 = now();
  for (const vector of queries) {
    const t = now();
    const hits = sys.index.search(vector, k);
    latencyUs.push((now() - t) * 1000);
    if (collect) found.push(hits.map((h) => sys.idToRow.get(h.id)));
  }
  return { totalMs: now() - t0, latencyUs, found };
}

// ---- hnswlib-wasm ------------------------------------------------------

let hnswlib = null;

async function loadHnswlib() {
  if (!hnswlib) {
    const module = await import("/node_modules/hnswlib-wasm/dist/hnswlib.js");
    hnswlib = await module.loadHnswlib();
  }
  return hnswlib;
}

/** A hnswlib index filled with addPoints (labels are base rows). */
async function hnswlibBuild(data, cfg) {
  const lib = await loadHnswlib();
  const d = cfg.dimension;
  const index = new lib.HierarchicalNSW("cosine", d, "");
  index.initIndex(cfg.n, cfg.hnsw.m, cfg.hnsw.ef_construction, cfg.hnsw.seed);
  const batchMs = [];
  let totalMs = 0;
  for (const { start, end } of data.batches) {
    const items = [];
    const labels = [];
    for (let i = start; i < end; i++) {
      items.push(rows(data.base, d, i, i + 1));
      labels.push(i);
    }
    const t = now();
    index.addPoints(items, labels, false);
    const ms = now() - t;
    batchMs.push(ms);
    totalMs += ms;
  }
  if (index.getCurrentCount() !== cfg.n) throw new Error(`hnswlib holds ${index.getCurrentCount()} points, not ${cfg.n}`);
  return { index, batchMs, totalMs };
}

function hnswlibPass(sys, queries, k, collect) {
  const latencyUs = [];
  const found = [];
  const t0 = now();
  for (const vector of queries) {
    const t = now();
    const result = sys.index.searchKnn(vector, k, undefined);
    latencyUs.push((now() - t) * 1000);
    if (collect) found.push(Array.from(result.neighbors));
  }
  return { totalMs: now() - t0, latencyUs, found };
}

// ---- the phases --------------------------------------------------------

function insertFigures(build) {
  return { total_ms: build.totalMs, batch_ms: build.batchMs };
}

/**
 * A binary search over `ladder` for the smallest ef whose recall reaches
 * `target`, one probe per `step()`; `recallOf(ef)` measures one (and may be
 * costly: an EdgeVec build). `ef()` answers the ef found, or the largest of
 * the ladder when none reaches the target.
 */
function efSearch(ladder, target, recallOf) {
  let lo = 0;
  let hi = ladder.length - 1;
  let best = ladder.length - 1;
  return {
    done: () => lo > hi,
    /** One probe; false when the search is over already. */
    async step() {
      if (lo > hi) return false;
      const mid = (lo + hi) >> 1;
      if ((await recallOf(ladder[mid])) >= target) {
        best = mid;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
      return true;
    },
    async ef() {
      while (await this.step()) {
        // probing
      }
      return ladder[best];
    },
  };
}

/**
 * The 10k-vector phase: inserts (each system `cfg.runs` times, interleaved),
 * each peer's ef tuned to the smallest of `cfg.ef_ladder` reaching
 * `cfg.target_recall` (mnemo's search width likewise, with `k` candidates;
 * for context, each peer's smallest ef reaching the recall mnemo reaches
 * there), then `cfg.passes` timed passes over the queries
 * for every system, interleaved.
 */
async function vectors(cfg) {
  const data = await loadVectorData(cfg);
  const k = cfg.k;
  const ladder = cfg.ef_ladder;
  log(`vectors: ${cfg.n} rows of ${cfg.dimension}, ${data.queries.length} queries, batches of ${cfg.batch}`);
  const out = {
    cross_origin_isolated: globalThis.crossOriginIsolated === true,
    user_agent: navigator.userAgent,
    hardware_concurrency: navigator.hardwareConcurrency,
    mnemo: { inserts: [], probes: [] },
    edgevec: { inserts: [], probes: [] },
    hnswlib: { inserts: [], probes: [] },
  };

  // EdgeVec fixes its search ef when it is built: one build per ef probed,
  // each an insert sample too; every build is kept until the end.
  const edgeBuilt = new Map();
  const edgeRecall = async (ef) => {
    const known = out.edgevec.probes.find((p) => p.ef === ef);
    if (known) return known.recall;
    const sys = await edgevecBuild(data, cfg, ef);
    edgeBuilt.set(ef, sys);
    out.edgevec.inserts.push(insertFigures(sys));
    const recall = recallAt(edgevecPass(sys, data.queries, k, true).found, data.truth, k);
    out.edgevec.probes.push({ ef, recall });
    log(`edgevec: ef ${ef}: recall@${k} ${recall.toFixed(4)}, insert ${sys.totalMs.toFixed(0)} ms`);
    return recall;
  };
  let hnsw = null;
  const hnswRecall = (ef) => {
    const known = out.hnswlib.probes.find((p) => p.ef === ef);
    if (known) return known.recall;
    hnsw.index.setEfSearch(ef);
    const recall = recallAt(hnswlibPass(hnsw, data.queries, k, true).found, data.truth, k);
    out.hnswlib.probes.push({ ef, recall });
    log(`hnswlib: ef ${ef}: recall@${k} ${recall.toFixed(4)}`);
    return recall;
  };

  const edgeSearch = efSearch(ladder, cfg.target_recall, edgeRecall);
  let mnemo = null;
  for (let run = 0; run < cfg.runs; run++) {
    if (mnemo) await mnemo.db.close();
    mnemo = await mnemoBuild(data, cfg, run);
    out.mnemo.inserts.push(insertFigures(mnemo));
    log(`mnemo: run ${run}: insert ${mnemo.totalMs.toFixed(0)} ms (storage ${mnemo.storage})`);
    if (hnsw) hnsw.index.delete();
    hnsw = await hnswlibBuild(data, cfg);
    out.hnswlib.inserts.push(insertFigures(hnsw));
    log(`hnswlib: run ${run}: insert ${hnsw.totalMs.toFixed(0)} ms`);
    // Interleaved with the others' runs: EdgeVec's builds of the binary
    // search for its ef, one per run while it has probes left.
    await edgeSearch.step();
  }
  out.mnemo.storage = mnemo.storage;
  const edgeEf = await edgeSearch.ef();
  while (out.edgevec.inserts.length < cfg.runs) {
    const extra = await edgevecBuild(data, cfg, edgeEf);
    out.edgevec.inserts.push(insertFigures(extra));
    log(`edgevec: ef ${edgeEf}: another insert ${extra.totalMs.toFixed(0)} ms`);
    extra.index.free();
  }
  const hnswEf = await efSearch(ladder, cfg.target_recall, hnswRecall).ef();

  // mnemo's search width by the peers' rule (k candidates, the smallest
  // width of the ladder reaching the target), its recall there, and the
  // peers' ef reaching that recall, for context.
  const mnemoRecallAt = async (ef) => {
    const known = out.mnemo.probes.find((p) => p.ef === ef);
    if (known) return known.recall;
    const recall = recallAt((await mnemoPass(mnemo, data.queries, k, true, ef)).found, data.truth, k);
    out.mnemo.probes.push({ ef, recall });
    log(`mnemo: search width ${ef}: recall@${k} ${recall.toFixed(4)}`);
    return recall;
  };
  const mnemoEf = await efSearch(ladder, cfg.target_recall, mnemoRecallAt).ef();
  const mnemoRecall = await mnemoRecallAt(mnemoEf);
  const edgeMatch = await efSearch(ladder, mnemoRecall, edgeRecall).ef();
  const hnswMatch = await efSearch(ladder, mnemoRecall, hnswRecall).ef();

  // Timed passes, interleaved so that drift of the machine hits all alike.
  const setEf = (ef) => hnsw.index.setEfSearch(ef);
  const timed = {
    mnemo: { run: (qs, c) => mnemoPass(mnemo, qs, k, c, mnemoEf), passes: [] },
    mnemo_default: { run: (qs, c) => mnemoPass(mnemo, qs, k, c), passes: [] },
    edgevec: { run: (qs, c) => edgevecPass(edgeBuilt.get(edgeEf), qs, k, c), passes: [] },
    hnswlib: { run: (qs, c) => { setEf(hnswEf); return hnswlibPass(hnsw, qs, k, c); }, passes: [] },
    edgevec_match: { run: (qs, c) => edgevecPass(edgeBuilt.get(edgeMatch), qs, k, c), passes: [] },
    hnswlib_match: { run: (qs, c) => { setEf(hnswMatch); return hnswlibPass(hnsw, qs, k, c); }, passes: [] },
  };
  // Untimed warm-up queries of every system before the timed passes.
  const warm = data.queries.slice(0, cfg.warmup_queries);
  for (const t of Object.values(timed)) await t.run(warm, false);
  for (let p = 0; p < cfg.passes; p++) {
    for (const t of Object.values(timed)) t.passes.push(await t.run(data.queries, p === 0));
    log(`pass ${p}: ${Object.entries(timed).map(([name, t]) => `${name} ${t.passes[p].totalMs.toFixed(0)} ms`).join(", ")}`);
  }
  const summary = (t, ef) => ({
    pass_ms: t.passes.map((x) => x.totalMs),
    latency_us: t.passes.flatMap((x) => x.latencyUs),
    found: t.passes[0].found,
    ef,
  });
  out.mnemo.queries = summary(timed.mnemo, mnemoEf);
  out.mnemo.default_queries = summary(timed.mnemo_default, null);
  out.edgevec.queries = summary(timed.edgevec, edgeEf);
  out.hnswlib.queries = summary(timed.hnswlib, hnswEf);
  out.edgevec.at_mnemo_recall = summary(timed.edgevec_match, edgeMatch);
  out.hnswlib.at_mnemo_recall = summary(timed.hnswlib_match, hnswMatch);

  // A near-empty call's round trip through the Worker (stats), for scale.
  const statsUs = [];
  for (let i = 0; i < 200; i++) {
    const t = now();
    await mnemo.ns.stats();
    statsUs.push((now() - t) * 1000);
  }
  out.mnemo.stats_call_us_p50 = median(statsUs);
  await mnemo.db.close();
  hnsw.index.delete();
  for (const sys of edgeBuilt.values()) sys.index.free();
  return out;
}

/** Deletes the OPFS database `name` (nothing when absent). */
async function opfsRemove(name) {
  const root = await navigator.storage.getDirectory();
  try {
    const top = await root.getDirectoryHandle("mnemo");
    await top.removeEntry(name, { recursive: true });
  } catch (e) {
    if (e.name !== "NotFoundError") throw e;
  }
}

/** Bytes of the files of the OPFS database `name`. */
async function opfsBytes(name) {
  const root = await navigator.storage.getDirectory();
  const dir = await (await root.getDirectoryHandle("mnemo")).getDirectoryHandle(name);
  let bytes = 0;
  let files = 0;
  for await (const [, handle] of dir.entries()) {
    if (handle.kind === "file") {
      bytes += (await handle.getFile()).size;
      files++;
    }
  }
  return { bytes, files };
}

/** Writes `cfg.n` memories with their vectors to a fresh OPFS database, then closes it. */
async function opfsWrite(cfg) {
  const d = cfg.dimension;
  await opfsRemove(cfg.name);
  const [base, texts] = await Promise.all([
    fetchBytes(cfg.data.base).then((b) => new Float32Array(b)),
    fetchJson(cfg.data.texts),
  ]);
  if (base.length !== cfg.n * d || texts.length !== cfg.n) throw new Error(`opfs data: ${base.length / d} rows, ${texts.length} texts`);
  const db = await Mnemo.open({ name: cfg.name, storage: "opfs" });
  if (db.storage !== "opfs") throw new Error(`Mnemo.open with storage "opfs" gave ${db.storage}`);
  const ns = await db.namespace(NAMESPACE, { embedder: "vectors", dimension: d });
  const batchMs = [];
  const t0 = now();
  for (let s = 0; s < cfg.n; s += cfg.batch) {
    const e = Math.min(s + cfg.batch, cfg.n);
    const memories = texts.slice(s, e);
    const vectors = rows(base, d, s, e);
    const t = now();
    const ids = await ns.rememberMany(memories, { vectors, dimension: d });
    batchMs.push(now() - t);
    // Ids count from 1 in the order written: the Rust side maps hits to rows by it.
    ids.forEach((id, i) => {
      if (id !== s + i + 1) throw new Error(`memory ${s + i} got id ${id}, not ${s + i + 1}`);
    });
    if ((s / cfg.batch) % 10 === 9) log(`opfs: ${e} memories written, ${((now() - t0) / 1000).toFixed(1)} s`);
  }
  const writeMs = now() - t0;
  const stats = await ns.stats();
  const tc = now();
  await db.close();
  const closeMs = now() - tc;
  return {
    storage: db.storage,
    write_ms: writeMs,
    batch_ms: batchMs,
    close_ms: closeMs,
    memories: stats.memories,
    vectors: stats.vectors,
    ...(await opfsBytes(cfg.name)),
  };
}

/** Opens the OPFS database written by opfsWrite (in a freshly loaded page): open, namespace, a first recall. */
async function opfsOpen(cfg) {
  const d = cfg.dimension;
  const queries = new Float32Array(await fetchBytes(cfg.data.queries));
  const first = rows(queries, d, 0, 1);
  const second = rows(queries, d, 1, 2);
  const recallOptions = (vector) => ({ k: cfg.k, vector, weights: VECTOR_ONLY, spreading: false });
  const t0 = now();
  const db = await Mnemo.open({ name: cfg.name, storage: "opfs" });
  const t1 = now();
  const ns = await db.namespace(NAMESPACE, { embedder: "vectors", dimension: d });
  const t2 = now();
  const answer = await ns.recall("", recallOptions(first));
  const t3 = now();
  const again = await ns.recall("", recallOptions(second));
  const t4 = now();
  const stats = await ns.stats();
  await db.close();
  if (db.storage !== "opfs") throw new Error(`Mnemo.open with storage "opfs" gave ${db.storage}`);
  return {
    storage: db.storage,
    open_ms: t1 - t0,
    namespace_ms: t2 - t1,
    first_recall_ms: t3 - t2,
    total_ms: t3 - t0,
    second_recall_ms: t4 - t3,
    first_ids: answer.hits.map((h) => h.memory.id),
    second_hits: again.hits.length,
    memories: stats.memories,
  };
}

window.bench = { vectors, opfsWrite, opfsOpen, opfsRemove };
window.benchReady = true;
