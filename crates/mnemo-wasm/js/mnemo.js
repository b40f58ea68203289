// mnemo: a memory engine for AI agents, in WebAssembly. The public API.
//
// In the browser the engine runs in a dedicated Worker (worker.js) and this
// module only sends it requests, so the page is never blocked by engine
// work; in Node it runs in the calling thread. Every method is async.

import {
  ClosedError,
  ConflictError,
  InvalidInputError,
  LockedError,
  MnemoError,
  NotFoundError,
  StorageError,
  UnavailableError,
  errorFrom,
  invalid,
} from "./errors.js";

export {
  ClosedError,
  ConflictError,
  InvalidInputError,
  LockedError,
  MnemoError,
  NotFoundError,
  StorageError,
  UnavailableError,
};

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
const STORAGES = ["opfs", "indexeddb", "memory", "file"];
/** Memories in one rememberMany (the server's batch limit). */
export const MAX_BATCH = 10000;

const IS_NODE = typeof globalThis.process?.versions?.node === "string"
  && typeof globalThis.document === "undefined"
  && typeof globalThis.WorkerGlobalScope === "undefined";

/** A channel to an engine in a dedicated Worker. */
function workerChannel() {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "mnemo" });
  const waiting = new Map();
  let next = 1;
  let failed = null;
  worker.onmessage = (event) => {
    const { id, ok, value, error } = event.data;
    const waiter = waiting.get(id);
    if (!waiter) return;
    waiting.delete(id);
    if (ok) waiter.resolve(value);
    else waiter.reject(errorFrom(error));
  };
  worker.onerror = (event) => {
    failed = new MnemoError(`the engine's worker failed: ${event.message ?? "unknown error"}`, "internal", 500);
    for (const waiter of waiting.values()) waiter.reject(failed);
    waiting.clear();
  };
  return {
    request(method, args) {
      if (failed) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, method, args });
      });
    },
    terminate() {
      worker.terminate();
    },
  };
}

async function nodeChannel() {
  const { localChannel } = await import("./node.js");
  const channel = localChannel();
  return {
    async request(method, args) {
      try {
        return await channel.request(method, args);
      } catch (e) {
        throw errorFrom(e);
      }
    },
    terminate() {},
  };
}

function json(field, value) {
  try {
    return JSON.stringify(value);
  } catch (e) {
    throw invalid(field, `cannot be sent as JSON (${e.message})`);
  }
}

function checkName(field, name) {
  if (typeof name !== "string") throw invalid(field, `must be a string, not ${typeof name}`);
  if (!NAME.test(name)) {
    throw invalid(field, `${JSON.stringify(name)} is not 1 to 64 of a-z, A-Z, 0-9, '-', '_', '.' (not starting with '.')`);
  }
}

function checkId(field, id) {
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
    throw invalid(field, `must be a whole number >= 0, not ${typeof id === "number" ? id : typeof id}`);
  }
  return id;
}

function checkObject(field, value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(field, `must be an object, not ${Array.isArray(value) ? "an array" : typeof value}`);
  return value;
}

/** A Float32Array copy of `vector` (a Float32Array or an array of numbers). */
function floats(field, vector) {
  if (vector instanceof Float32Array) {
    // A view into a larger buffer is copied out: posting the view to the
    // Worker would clone its whole buffer.
    const whole = vector.byteOffset === 0 && vector.byteLength === vector.buffer.byteLength;
    return whole ? vector : vector.slice();
  }
  if (Array.isArray(vector) || ArrayBuffer.isView(vector)) {
    const out = new Float32Array(vector.length);
    for (let i = 0; i < vector.length; i++) {
      const v = vector[i];
      if (typeof v !== "number") throw invalid(`${field}[${i}]`, `must be a number, not ${typeof v}`);
      out[i] = v;
    }
    return out;
  }
  throw invalid(field, `must be a Float32Array or an array of numbers, not ${vector === null ? "null" : typeof vector}`);
}

/** An open database: its namespaces, opened on first use. */
export class Mnemo {
  /** @private */
  constructor(channel, info, options) {
    this._channel = channel;
    this._closed = false;
    /** Where the data is kept: `opfs`, `indexeddb`, `file` or `memory`. */
    this.storage = info.storage;
    /** The database's name. */
    this.name = options.name;
    /** Where the data is, for messages. */
    this.location = info.location;
  }

  /**
   * Opens (creating) a database.
   * @param {{name?: string, storage?: "opfs"|"indexeddb"|"memory"|"file", path?: string}} [options]
   */
  static async open(options = {}) {
    checkObject("options", options);
    const name = options.name ?? "default";
    checkName("name", name);
    const storage = options.storage ?? (IS_NODE ? (options.path ? "file" : "memory") : "opfs");
    if (!STORAGES.includes(storage)) {
      throw invalid("storage", `${JSON.stringify(storage)} is not one of "opfs", "indexeddb", "memory", "file"`);
    }
    if (IS_NODE && (storage === "opfs" || storage === "indexeddb")) {
      throw invalid("storage", `"${storage}" is a browser storage; in Node use "memory" or "file" with a path`);
    }
    if (!IS_NODE && storage === "file") {
      throw invalid("storage", "\"file\" is Node's storage; in the browser use \"opfs\", \"indexeddb\" or \"memory\"");
    }
    if (storage === "file" && (typeof options.path !== "string" || options.path.length === 0)) {
      throw invalid("path", "storage \"file\" needs the directory's path");
    }
    const channel = IS_NODE ? await nodeChannel() : workerChannel();
    try {
      const info = await channel.request("open", [{ name, storage, path: options.path }]);
      return new Mnemo(channel, info, { name });
    } catch (e) {
      channel.terminate();
      throw e;
    }
  }

  /** Whether close() was called. */
  get closed() {
    return this._closed;
  }

  /** @private */
  _request(method, args) {
    if (this._closed) return Promise.reject(new ClosedError(`the database ${this.name} is closed`));
    return this._channel.request(method, args);
  }

  /**
   * Opens (or creates) a namespace. `embedder`: "hash" (built in, the
   * default) or "vectors" (you supply every vector, of `dimension` values).
   * @param {string} name
   * @param {{embedder?: "hash"|"vectors", dimension?: number}} [options]
   */
  async namespace(name, options = {}) {
    checkName("name", name);
    checkObject("options", options);
    const embedder = options.embedder ?? "hash";
    if (embedder !== "hash" && embedder !== "vectors") {
      throw invalid("embedder", `${JSON.stringify(embedder)} is not one of "hash", "vectors"`);
    }
    const dimension = options.dimension;
    if (dimension !== undefined && (!Number.isInteger(dimension) || dimension < 1)) {
      throw invalid("dimension", `must be a whole number from 1, not ${dimension}`);
    }
    const info = JSON.parse(await this._request("namespace", [name, embedder, dimension]));
    return new Namespace(this, name, info);
  }

  /** Names of the namespaces stored. */
  async namespaces() {
    return this._request("namespaces", []);
  }

  /**
   * Checks a proof (from Namespace.prove) with nothing but the proof, and
   * against `trustedRoot` (hex) when given.
   * @param {object} proof
   * @param {string} [trustedRoot]
   */
  async verify(proof, trustedRoot) {
    checkObject("proof", proof);
    if (trustedRoot !== undefined && typeof trustedRoot !== "string") throw invalid("trustedRoot", "must be a hex string");
    return this._request("verify", [json("proof", proof), trustedRoot]);
  }

  /** Closes the database: snapshots written, files synced, the lock released. */
  async close() {
    if (this._closed) return;
    try {
      await this._channel.request("close", []);
    } finally {
      this._closed = true;
      this._channel.terminate();
    }
  }
}

/** A namespace: memories, links, facts and their history. */
export class Namespace {
  /** @private */
  constructor(db, name, info) {
    this._db = db;
    /** The namespace's name. */
    this.name = name;
    /** The embedder's id (`hash-...` or `caller-vectors-...`). */
    this.embedder = info.embedder;
    /** The vectors' dimension. */
    this.dimension = info.dimension;
  }

  /** @private */
  async _call(op, { id, params, body, vectors, dimension } = {}) {
    const text = await this._db._request("call", [
      this.name,
      op,
      id,
      params === undefined ? "" : json("params", params),
      body === undefined ? "" : json("body", body),
      vectors,
      dimension,
    ]);
    return JSON.parse(text);
  }

  /**
   * Runs any operation of the HTTP API by its OpenAPI operationId (for
   * those without a method here: trajectories, patterns, predicates...).
   * @param {string} op
   * @param {{id?: number, params?: object, body?: object}} [request]
   */
  async call(op, request = {}) {
    if (typeof op !== "string") throw invalid("op", "must be a string");
    checkObject("request", request);
    if (request.id !== undefined) checkId("id", request.id);
    return this._call(op, { id: request.id, params: request.params, body: request.body });
  }

  /**
   * Remembers one memory: its text, or an object with `content` and
   * optional `tags`, `kind`, `key`, `source`, `metadata`, `at`, `valid`,
   * `importance`, `confidence` and `vector`. Answers its id.
   * @param {string | object} memory
   */
  async remember(memory) {
    const [id] = await this.rememberMany([memory]);
    return id;
  }

  /**
   * Remembers a batch (at most 10,000), atomically: all or none. Vectors
   * come in each memory's `vector`, or for the whole batch as one flat
   * Float32Array `vectors` of `dimension`-long rows. Answers the ids in order.
   * @param {(string | object)[]} memories
   * @param {{vectors?: Float32Array, dimension?: number}} [options]
   */
  async rememberMany(memories, options = {}) {
    if (!Array.isArray(memories)) throw invalid("memories", `must be an array, not ${typeof memories}`);
    if (memories.length === 0) throw invalid("memories", "the batch is empty");
    if (memories.length > MAX_BATCH) throw invalid("memories", `${memories.length} memories are more than ${MAX_BATCH} in one batch`);
    checkObject("options", options);
    const rows = [];
    let withVector = 0;
    const batch = memories.map((m, i) => {
      if (typeof m === "string") return { content: m };
      if (m === null || typeof m !== "object" || Array.isArray(m)) {
        throw invalid(`memories[${i}]`, `must be a string or an object with content, not ${m === null ? "null" : typeof m}`);
      }
      if (m.vector === undefined) return m;
      withVector++;
      rows.push(floats(`memories[${i}].vector`, m.vector));
      const { vector: _vector, ...rest } = m;
      return rest;
    });
    let vectors;
    let dimension;
    if (options.vectors !== undefined) {
      if (withVector > 0) throw invalid("vectors", "give vectors per memory or for the batch, not both");
      vectors = floats("vectors", options.vectors);
      dimension = options.dimension ?? this.dimension;
    } else if (withVector > 0) {
      if (withVector !== memories.length) throw invalid("memories", "either every memory of a batch has a vector or none has");
      dimension = rows[0].length;
      vectors = new Float32Array(dimension * rows.length);
      rows.forEach((row, i) => {
        if (row.length !== dimension) throw invalid(`memories[${i}].vector`, `has ${row.length} values, not ${dimension}`);
        vectors.set(row, i * dimension);
      });
    }
    const out = await this._call("remember", { body: { memories: batch }, vectors, dimension });
    return out.ids;
  }

  /**
   * The memories that matter for `query`: hits ranked by their signals
   * (vector, keyword, activation, recency, importance, time, tags,
   * answer_type, strength).
   * Options: `k`, `filter`, `weights`, `spreading`, `explain`, `graph`,
   * `budgetMs`, `candidates` (per signal, before fusion), `searchWidth`
   * (the vector search's HNSW `ef`), `vector` (the query's own
   * embedding), `includeMemory` (default true; false answers each hit's
   * `id`, score and signals without the memory: a smaller, faster answer),
   * `preferConsolidated` (a consolidated memory stands for its sources) and
   * `scanCold` (vector search also scans the cold tier) and `newestFirst`
   * (default true: versions of one statement, such as a preference restated
   * with a new value, come newest first). Each hit carries
   * its `tier` and `strength`.
   * @param {string} query
   * @param {object} [options]
   */
  async recall(query, options = {}) {
    if (typeof query !== "string") throw invalid("query", `must be a string, not ${typeof query}`);
    const {
      vector,
      budgetMs,
      searchWidth,
      includeMemory,
      preferConsolidated,
      scanCold,
      newestFirst,
      ...rest
    } = checkObject("options", options);
    const body = { query, ...rest };
    if (budgetMs !== undefined) body.budget_ms = budgetMs;
    if (searchWidth !== undefined) body.search_width = searchWidth;
    if (includeMemory !== undefined) body.include_memory = includeMemory;
    if (preferConsolidated !== undefined) body.prefer_consolidated = preferConsolidated;
    if (scanCold !== undefined) body.scan_cold = scanCold;
    if (newestFirst !== undefined) body.newest_first = newestFirst;
    let vectors;
    let dimension;
    if (vector !== undefined) {
      vectors = floats("vector", vector);
      dimension = vectors.length;
    }
    return this._call("recall", { body, vectors, dimension });
  }

  /**
   * Memories matching a filter (tags, kind, source, time ranges, metadata,
   * contains), ordered and paged: `{filter, order_by, descending, offset, limit}`.
   * @param {object} [query]
   */
  async query(query = {}) {
    return this._call("queryMemories", { body: checkObject("query", query) });
  }

  /** One memory by id. @param {number} id */
  async get(id) {
    return this._call("getMemory", { id: checkId("id", id) });
  }

  /**
   * A new version of a memory (its content, kind, importance, metadata...).
   * @param {number} id
   * @param {object} revision
   */
  async revise(id, revision) {
    checkId("id", id);
    if (typeof revision === "string") revision = { content: revision };
    return this._call("reviseMemory", { id, body: checkObject("revision", revision) });
  }

  /**
   * Forgets a memory and erases it: its key is destroyed, so what the log
   * holds of it can no longer be read. @param {number} id
   */
  async forget(id) {
    return this._call("forgetMemory", { id: checkId("id", id) });
  }

  /**
   * Forgets and erases every memory with a tag, from a source, or all of
   * them: exactly one of `tag`, `source`, `all: true`.
   * @param {{tag?: string, source?: string, all?: boolean}} filter
   */
  async purge(filter) {
    return this._call("purgeMemories", { body: checkObject("filter", filter) });
  }

  /**
   * Links two memories (`kind` names the relation; `weight` in (0, 1]).
   * @param {number} from
   * @param {number} to
   * @param {{kind?: string, weight?: number}} [options]
   */
  async link(from, to, options = {}) {
    checkId("from", from);
    checkId("to", to);
    const { kind = "related", weight } = checkObject("options", options);
    return this._call("link", { body: { from, to, kind, weight } });
  }

  /** Removes a link. */
  async unlink(from, to, kind = "related") {
    checkId("from", from);
    checkId("to", to);
    return this._call("unlink", { params: { from, to, kind } });
  }

  /**
   * Asserts a fact `{subject, predicate, object, confidence?, valid?, evidence?, context?}`;
   * a contradiction of a stored fact opens a conflict.
   * @param {object} fact
   */
  async assertFact(fact) {
    return this._call("assertFact", { body: checkObject("fact", fact) });
  }

  /** Facts, filtered by `{subject, predicate, object, status, ...}`. */
  async facts(params = {}) {
    return this._call("listFacts", { params: checkObject("params", params) });
  }

  /** One fact by id. */
  async fact(id) {
    return this._call("getFact", { id: checkId("id", id) });
  }

  /** Retracts a fact, with a reason. */
  async retractFact(id, reason) {
    checkId("id", id);
    return this._call("retractFact", { id, body: reason === undefined ? {} : { reason } });
  }

  /** Open (or all) conflicts between facts. */
  async conflicts(params = {}) {
    return this._call("listConflicts", { params: checkObject("params", params) });
  }

  /** One conflict by id. */
  async conflict(id) {
    return this._call("getConflict", { id: checkId("id", id) });
  }

  /** Resolves a conflict: `{resolution: "keep"|..., fact?, reason?}` as the HTTP API. */
  async resolveConflict(id, resolution) {
    checkId("id", id);
    return this._call("resolveConflict", { id, body: checkObject("resolution", resolution) });
  }

  /** Counts: memories, links, facts, events, vectors... */
  async stats() {
    return this._call("stats");
  }

  /** The log's Merkle root: `{seq, root}`. */
  async root() {
    return this._call("root");
  }

  /** A Merkle inclusion proof of the event that wrote memory `id`. */
  async prove(id) {
    return this._call("proof", { id: checkId("id", id) });
  }

  /** Checks a proof with nothing but the proof (and a trusted root). */
  async verify(proof, trustedRoot) {
    return this._db.verify(proof, trustedRoot);
  }

  /**
   * Watches the memories a filter selects: an async iterator of events
   * `{event: "current"|"added"|"changed"|"removed"|"lagged", data}`;
   * `current` comes first. Break out of the loop (or call `close()`) to stop.
   * @param {object} [filter] the watch operation's parameters (tag, kind, limit...)
   */
  async watch(filter = {}) {
    const params = json("filter", checkObject("filter", filter));
    const id = await this._db._request("watchStart", [this.name, params]);
    return new Watch(this._db, id);
  }
}

/** An async iterator of a watch's events. */
export class Watch {
  /** @private */
  constructor(db, id) {
    this._db = db;
    this._id = id;
    this._buffer = [];
    this._done = false;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** The next event; `done` once the watch or its database closed. */
  async next() {
    while (!this._done) {
      if (this._buffer.length > 0) return { value: this._buffer.shift(), done: false };
      if (this._db.closed) break;
      const events = await this._db._channel.request("watchNext", [this._id]);
      if (events === null) break;
      this._buffer.push(...events);
    }
    this._done = true;
    return { value: undefined, done: true };
  }

  /** Stops the watch. */
  async return() {
    await this.close();
    return { value: undefined, done: true };
  }

  /** Stops the watch. */
  async close() {
    if (this._done) return;
    this._done = true;
    this._buffer = [];
    if (!this._db.closed) await this._db._channel.request("watchStop", [this._id]);
  }
}
