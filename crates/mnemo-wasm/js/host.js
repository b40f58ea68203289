// The engine's host: one wasm Engine and its volume, driven by requests
// `(method, args)` answered one at a time in arrival order. In the browser
// it runs inside the package's dedicated Worker (worker.js); in Node it runs
// in the calling thread (the engine's work is synchronous there anyway).
//
// A write's promise resolves only once the write is durable: OPFS and Node
// sync inside the engine's call; the IndexedDB volume commits its staged
// writes (one strict-durability transaction) before the answer goes back.
// Snapshots, which the browser cannot write on a background thread, are
// written when the queue is idle.

import { failureOf } from "./errors.js";

/** Watches waiting at once for their next events (per engine). */
const MAX_PARKED = 64;

/** Operations that only read: no snapshot can fall due after them. */
const READS = new Set([
  "listMemories", "queryMemories", "getMemory", "recall", "listFacts", "factHistory", "getFact",
  "listPredicates", "listConflicts", "getConflict", "suggest", "listPatterns", "getPattern",
  "stats", "root", "proof", "consistency",
]);

export class Host {
  /**
   * @param {any} wasm the wasm-bindgen module (Engine, verifyProof)
   * @param {(options: any) => Promise<any>} openVolume makes the volume of
   *   `{name, storage, path}` (and holds its lock)
   */
  constructor(wasm, openVolume) {
    this.wasm = wasm;
    this.openVolume = openVolume;
    this.engine = null;
    this.volume = null;
    this.tail = Promise.resolve();
    /** @type {Map<number, {resolve: (v: any) => void}>} */
    this.parked = new Map();
    this.maintenanceDue = false;
    this.broken = null;
  }

  /**
   * Runs `method` with `args`; resolves with its answer or rejects with a
   * plain failure `{code, message, status}`.
   * @param {string} method
   * @param {any[]} args
   */
  handle(method, args) {
    if (method === "watchNext") return this.watchNext(args[0]);
    if (method === "verify") return this.guard(() => this.wasm.verifyProof(args[0], args[1] ?? undefined));
    const run = this.tail.then(() => this.guard(() => this.run(method, args)));
    this.tail = run.then(
      () => this.afterCall(),
      () => this.afterCall(),
    );
    return run;
  }

  async guard(f) {
    if (this.broken) throw this.broken;
    try {
      return await f();
    } catch (e) {
      // A trap (a Rust panic, out of memory) leaves the instance unusable.
      if (e instanceof WebAssembly.RuntimeError) {
        this.broken = {
          code: "internal",
          message: `the engine stopped (${e.message}); reopen the database`,
          status: 500,
        };
        this.engine = null;
        this.releaseWatches();
        throw this.broken;
      }
      throw failureOf(e);
    }
  }

  engineOrThrow() {
    if (!this.engine) throw { code: "closed", message: "the database is closed", status: 503 };
    return this.engine;
  }

  async run(method, args) {
    switch (method) {
      case "open": {
        if (this.engine) throw { code: "conflict", message: "open: already open", status: 409 };
        const options = args[0];
        if (options.storage === "memory") {
          this.engine = this.wasm.Engine.inMemory();
        } else {
          this.volume = await this.openVolume(options);
          try {
            this.engine = this.wasm.Engine.onVolume(this.volume);
          } catch (e) {
            this.volume.close();
            this.volume = null;
            throw e;
          }
        }
        return { location: this.engine.location };
      }
      case "namespace": {
        const engine = this.engineOrThrow();
        await this.prepare();
        try {
          return engine.namespace(args[0], args[1], args[2] ?? undefined);
        } finally {
          await this.flush();
        }
      }
      case "call": {
        const engine = this.engineOrThrow();
        const [ns, op, id, params, body, vectors, dimension] = args;
        await this.prepare();
        try {
          return engine.call(ns, op, id ?? undefined, params ?? "", body ?? "",
            vectors ?? undefined, dimension ?? undefined);
        } finally {
          // Reads skip the idle maintenance task: it would cost each
          // recall another turn of the Worker's event loop.
          if (!READS.has(op)) this.maintenanceDue = true;
          await this.flush();
        }
      }
      case "namespaces":
        return this.engineOrThrow().namespaces();
      case "watchStart":
        return this.engineOrThrow().watchStart(args[0], args[1] ?? "");
      case "watchStop":
        if (this.engine) this.engine.watchStop(args[0]);
        this.parked.get(args[0])?.resolve(null);
        this.parked.delete(args[0]);
        return null;
      case "close": {
        if (!this.engine) return null;
        const engine = this.engine;
        this.engine = null;
        try {
          engine.close();
          await this.flush();
        } finally {
          engine.free();
          this.releaseWatches();
          if (this.volume) {
            this.volume.close();
            this.volume = null;
          }
        }
        return null;
      }
      case "maintain": {
        if (!this.engine) return 0;
        await this.prepare();
        try {
          return this.engine.maintain();
        } finally {
          await this.flush();
        }
      }
      default:
        throw { code: "invalid_request", message: `method: unknown method ${method}`, status: 400 };
    }
  }

  async prepare() {
    if (this.volume?.prepare) await this.volume.prepare();
  }

  async flush() {
    if (this.volume?.flush) await this.volume.flush();
  }

  afterCall() {
    this.wakeWatches();
    if (this.maintenanceDue && this.engine) {
      this.maintenanceDue = false;
      // Idle work goes to the back of the queue: calls already waiting run first.
      setTimeout(() => {
        this.handle("maintain", []).catch(() => {});
      }, 0);
    }
  }

  /** Resolves with the watch's next events (an array), or null once it ended. */
  watchNext(id) {
    return new Promise((resolve, reject) => {
      if (this.parked.has(id)) {
        reject({ code: "invalid_request", message: "watch: already waiting for this watch's next events", status: 400 });
        return;
      }
      if (this.parked.size >= MAX_PARKED) {
        reject({ code: "unavailable", message: `watch: at most ${MAX_PARKED} watches may wait at once`, status: 503 });
        return;
      }
      this.parked.set(id, { resolve });
      this.wakeWatches();
    });
  }

  wakeWatches() {
    for (const [id, waiter] of this.parked) {
      if (!this.engine) {
        waiter.resolve(null);
        this.parked.delete(id);
        continue;
      }
      if (!this.engine.watchReady(id)) continue;
      this.parked.delete(id);
      try {
        waiter.resolve(JSON.parse(this.engine.watchPoll(id)));
      } catch {
        waiter.resolve(null);
      }
    }
  }

  releaseWatches() {
    for (const waiter of this.parked.values()) waiter.resolve(null);
    this.parked.clear();
  }
}
