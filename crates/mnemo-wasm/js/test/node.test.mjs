// The package in Node (node --test): the API end to end in memory and on
// disk, durability after a killed process, the lock, bad input, recall
// identical to the native engine, and the README's example run from the
// packed tarball installed into an empty folder.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

import { NPM_DIR, REPLAY_BIN, ROOT, dataset, loadPackage, nativeRecall } from "./util.mjs";

const pkg = await loadPackage();
const { Mnemo, MnemoError, InvalidInputError, NotFoundError, ClosedError, LockedError, ConflictError } = pkg;

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), "mnemo-npm-"));
}

async function rejects(promise, Class, field) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Class, `${e?.name}: ${e?.message} is not a ${Class.name}`);
    assert.ok(e instanceof MnemoError);
    assert.equal(typeof e.code, "string");
    if (field) assert.ok(e.message.includes(`${field}:`) || e.message.includes(`${field} `), `"${e.message}" does not name ${field}`);
    return true;
  });
}

test("remember, recall, query, revise, forget, links and proofs in memory", async () => {
  const db = await Mnemo.open({ storage: "memory" });
  assert.equal(db.storage, "memory");
  const ns = await db.namespace("notes");
  assert.equal(ns.dimension, 384);
  const tea = await ns.remember({ content: "Alice prefers green tea", tags: ["alice", "food"], importance: 0.9 });
  const [launch, paris] = await ns.rememberMany(["The launch moved to Friday", "Bob's sister lives in Paris"]);
  assert.deepEqual([tea, launch, paris], [1, 2, 3]);

  const recalled = await ns.recall("what tea does alice drink", { k: 2, explain: true });
  assert.equal(recalled.hits[0].memory.id, tea);
  assert.equal(recalled.hits[0].id, tea);
  assert.ok(recalled.hits[0].signals.keyword.score > 0);
  assert.ok(recalled.complete);
  const bare = await ns.recall("what tea does alice drink", { k: 2, explain: true, includeMemory: false });
  assert.deepEqual(bare.hits.map((h) => [h.id, h.score]), recalled.hits.map((h) => [h.id, h.score]));
  assert.ok(bare.hits.every((h) => h.memory === undefined && typeof h.signals === "object"));
  assert.ok(bare.hits[0].signals.keyword.score > 0);
  await rejects(ns.recall("q", { includeMemory: "no" }), InvalidInputError, "include_memory");

  const listed = await ns.query({ filter: { tags: ["alice"] } });
  assert.deepEqual(listed.memories.map((m) => m.id), [tea]);

  const revised = await ns.revise(tea, "Alice prefers jasmine tea");
  assert.ok(JSON.stringify(revised).includes("jasmine"));
  assert.equal((await ns.get(tea)).memory.content, "Alice prefers jasmine tea");

  await ns.link(tea, paris, { kind: "related", weight: 0.5 });
  const graph = await ns.recall("jasmine", { k: 3, graph: true });
  assert.ok(graph.graph, "the recall carries its activation graph");

  await ns.forget(launch);
  await rejects(ns.get(launch), NotFoundError);
  const secret = await ns.remember({ content: "passport X9Q2W7Z4K", tags: ["pii"] });
  assert.deepEqual(await ns.purge({ tag: "pii" }), { purged: [secret], count: 1 });
  await rejects(ns.get(secret), NotFoundError);
  await rejects(ns.purge({}), InvalidInputError, "purge");

  const stats = await ns.stats();
  assert.equal(stats.memories, 2);
  assert.equal(stats.links, 1);
  const root = await ns.root();
  const proof = await ns.prove(paris);
  assert.equal(await ns.verify(proof), true);
  assert.equal(await db.verify(proof, root.root), true);
  const forged = { ...proof, root: "00".repeat(32) };
  assert.equal(await db.verify(forged), false);

  assert.deepEqual(await db.namespaces(), ["notes"]);
  await db.close();
  assert.ok(db.closed);
});

test("recall runs on the host's clock: stage timings, and a spent budget answers incomplete", async () => {
  const db = await Mnemo.open({ storage: "memory" });
  const ns = await db.namespace("clock");
  const words = ["tea", "launch", "paris", "sister", "friday", "garden", "piano", "train"];
  for (let batch = 0; batch < 3; batch++) {
    const texts = Array.from({ length: 1000 }, (_, i) => {
      const n = batch * 1000 + i;
      return `note ${n} about ${words[n % words.length]} and ${words[(n * 7) % words.length]}`;
    });
    await ns.rememberMany(texts);
  }
  const full = await ns.recall("a note about tea and the piano", { k: 10 });
  assert.equal(full.hits.length, 10);
  assert.ok(full.complete);
  const t = full.timings_us;
  // Three thousand memories take the engine more than the clock's grain:
  // a clock that never moves (as before performance.now()) reads zero.
  assert.ok(t.embed + t.candidates + t.spread + t.fuse > 0, JSON.stringify(t));
  const spent = await ns.recall("a note about tea and the piano", { k: 10, budgetMs: 0 });
  assert.equal(spent.complete, false);
  const narrow = await ns.recall("a note about tea and the piano", { k: 10, candidates: 10, searchWidth: 16 });
  assert.equal(narrow.hits.length, 10);
  await assert.rejects(
    ns.recall("tea", { searchWidth: 0 }),
    (e) => e instanceof InvalidInputError && e.message.startsWith("search_width: between 1 and"),
  );
  await db.close();
});

test("facts and conflicts", async () => {
  const db = await Mnemo.open();
  const ns = await db.namespace("facts");
  const first = await ns.assertFact({ subject: "alice", predicate: "lives_in", object: "Paris" });
  assert.ok(first.fact.id >= 1);
  const second = await ns.assertFact({ subject: "alice", predicate: "lives_in", object: "Berlin" });
  const conflicts = await ns.conflicts();
  assert.equal(conflicts.conflicts.length, 1, JSON.stringify({ second, conflicts }));
  const conflict = await ns.conflict(conflicts.conflicts[0].id);
  assert.equal(conflict.id, conflicts.conflicts[0].id);
  const facts = await ns.facts({ subject: "alice" });
  assert.equal(facts.facts.length, 2);
  await db.close();
});

test("watch is an async iterator: current first, then changes", async () => {
  const db = await Mnemo.open();
  const ns = await db.namespace("w");
  await ns.remember({ content: "before", tags: ["t"] });
  const watch = await ns.watch({ tag: "t" });
  const events = [];
  const reading = (async () => {
    for await (const event of watch) {
      events.push(event);
      if (events.length === 3) break;
    }
  })();
  await ns.remember({ content: "after", tags: ["t"] });
  await ns.remember({ content: "not watched", tags: ["other"] });
  await ns.forget(1);
  await reading;
  assert.deepEqual(events.map((e) => e.event), ["current", "added", "removed"]);
  assert.equal(events[0].data.memories[0].content, "before");
  assert.equal(events[1].data.memory.content, "after");
  assert.equal(events[2].data.id, 1);
  // Closing the database ends a watch still open.
  const open = await ns.watch();
  assert.equal((await open.next()).value.event, "current");
  const pending = open.next();
  await db.close();
  assert.equal((await pending).done, true);
});

test("caller vectors: recall is the native engine's, same ids in the same order", async () => {
  const dimension = 32;
  const data = dataset(1500, 25, dimension);
  const db = await Mnemo.open();
  const ns = await db.namespace("same", { embedder: "vectors", dimension });
  for (let at = 0; at < data.memories.length; at += 500) {
    const memories = data.memories.slice(at, at + 500);
    await ns.rememberMany(memories, { vectors: data.vectors.subarray(at * dimension, (at + memories.length) * dimension) });
  }
  const wasm = [];
  for (const q of data.queries) {
    const out = await ns.recall(q.query, { k: 10, vector: q.vector });
    wasm.push(out.hits.map((h) => h.memory.id));
  }
  await db.close();
  const native = nativeRecall(data, dimension, 10);
  assert.equal(native.length, data.queries.length);
  assert.deepEqual(wasm, native);
});

test("a database the package wrote opens natively: its AEAD named on disk, the same recall", async () => {
  const dimension = 32;
  const data = dataset(300, 10, dimension);
  const dir = tempDir();
  const db = await Mnemo.open({ storage: "file", path: dir });
  const ns = await db.namespace("cross", { embedder: "vectors", dimension });
  await ns.rememberMany(data.memories, { vectors: data.vectors, dimension });
  const wasm = [];
  for (const q of data.queries) {
    wasm.push((await ns.recall(q.query, { k: 10, vector: q.vector })).hits.map((h) => h.memory.id));
  }
  await db.close();
  // WebAssembly seals with ChaCha20-Poly1305 (id 2): the key file names it
  // for the events, the snapshot written on close in its header.
  const keyFile = fs.readFileSync(path.join(dir, "cross", "keys", "namespace"));
  assert.equal(keyFile[11], 2);
  const snapshots = fs.readdirSync(path.join(dir, "cross", "snapshots")).filter((f) => f.endsWith(".snap"));
  assert.equal(snapshots.length, 1);
  assert.equal(fs.readFileSync(path.join(dir, "cross", "snapshots", snapshots[0]))[11], 2);
  const calls = data.queries.map((q) => ({ op: "recall", body: { query: q.query, k: 10 }, vectors: Array.from(q.vector) }));
  calls.push({ op: "stats" });
  const out = JSON.parse(execFileSync(REPLAY_BIN, {
    input: JSON.stringify({ data: dir, namespace: "cross", embedder: "vectors", dimension, calls }),
    maxBuffer: 1 << 26,
  }));
  const stats = out.pop();
  assert.equal(stats.memories, 300, JSON.stringify(stats));
  assert.deepEqual(out.map((answer) => answer.hits.map((h) => h.memory.id)), wasm);
});

test("a file database persists, locks, and keeps acknowledged writes of a killed process", async () => {
  const dir = tempDir();
  const db = await Mnemo.open({ storage: "file", path: dir });
  assert.equal(db.storage, "file");
  const ns = await db.namespace("n");
  await ns.remember("kept across a reopen");
  await rejects(Mnemo.open({ storage: "file", path: dir }), LockedError, "open");
  await db.close();

  const again = await Mnemo.open({ storage: "file", path: dir });
  const reopened = await again.namespace("n");
  assert.deepEqual((await reopened.query()).memories.map((m) => m.content), ["kept across a reopen"]);
  await again.close();

  // A child process writes and reports each acknowledged write, then is
  // killed (SIGKILL) mid-stream: every acknowledged write must be there.
  const child = spawn(process.execPath, ["--input-type=module", "-e", `
    const { Mnemo } = await import(${JSON.stringify(path.join(NPM_DIR, "mnemo.js"))});
    const db = await Mnemo.open({ storage: "file", path: ${JSON.stringify(dir)} });
    const ns = await db.namespace("n");
    for (let i = 0; ; i++) {
      const id = await ns.remember("write " + i);
      process.stdout.write(id + "\\n");
    }
  `], { stdio: ["ignore", "pipe", "inherit"] });
  const acked = [];
  await new Promise((resolve) => {
    let buffer = "";
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop();
      for (const line of lines) acked.push(Number(line));
      if (acked.length >= 40 && !child.killed) child.kill("SIGKILL");
    });
    child.on("exit", resolve);
  });
  assert.ok(acked.length >= 40);
  // The killed process's lock is stale: a new open takes it over.
  const after = await Mnemo.open({ storage: "file", path: dir });
  const ids = new Set((await (await after.namespace("n")).query({ limit: 1000 })).memories.map((m) => m.id));
  for (const id of acked) assert.ok(ids.has(id), `acknowledged memory ${id} was lost`);
  await after.close();

  // A second process is refused while this one holds the database.
  const holder = await Mnemo.open({ storage: "file", path: dir });
  const refused = execFileSync(process.execPath, ["--input-type=module", "-e", `
    const { Mnemo } = await import(${JSON.stringify(path.join(NPM_DIR, "mnemo.js"))});
    try { await Mnemo.open({ storage: "file", path: ${JSON.stringify(dir)} }); console.log("opened"); }
    catch (e) { console.log(e.name + " " + e.code); }
  `]).toString().trim();
  assert.equal(refused, "LockedError locked");
  await holder.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("bad input gets a typed error naming the field and writes nothing", async () => {
  const db = await Mnemo.open();
  const ns = await db.namespace("bad");
  const vec = await db.namespace("vec", { embedder: "vectors", dimension: 4 });
  await ns.remember("one good memory");
  const before = await ns.stats();

  await rejects(ns.remember(42), InvalidInputError, "memories[0]");
  await rejects(ns.remember({ content: 7 }), InvalidInputError, "body.memories[0].content");
  await rejects(ns.remember({ content: "x", importance: "high" }), InvalidInputError, "body.memories[0].importance");
  await rejects(ns.rememberMany("not an array"), InvalidInputError, "memories");
  await rejects(ns.rememberMany([]), InvalidInputError, "memories");
  await rejects(ns.rememberMany(Array.from({ length: 10001 }, () => "x")), InvalidInputError, "memories");
  await rejects(ns.recall(17), InvalidInputError, "query");
  await rejects(ns.recall("q", { k: 0 }), InvalidInputError, "k");
  await rejects(ns.recall("q", { k: "ten" }), InvalidInputError, "body.k");
  await rejects(ns.get(-1), InvalidInputError, "id");
  await rejects(ns.get(1.5), InvalidInputError, "id");
  await rejects(ns.get("1"), InvalidInputError, "id");
  await rejects(ns.get(12345), NotFoundError);
  await rejects(ns.query({ filter: { tags: "not-a-list" } }), InvalidInputError, "filter.tags");
  await rejects(ns.query({ filter: { any_tags: ["a", 7] } }), InvalidInputError, "filter.any_tags[1]");
  await rejects(ns.call("listMemories", { params: { limit: "many", offset: 1 } }), InvalidInputError, "limit");
  await rejects(ns.call("listMemories", { params: { offset: 1, colour: "red" } }), InvalidInputError, "colour");
  await rejects(ns.remember({ content: "cyclic", metadata: { big: 10n } }), InvalidInputError, "body");
  await rejects(db.namespace("../escape"), InvalidInputError, "name");
  await rejects(db.namespace("n2", { embedder: "bert" }), InvalidInputError, "embedder");
  await rejects(db.namespace("bad", { embedder: "vectors", dimension: 8 }), ConflictError);
  await rejects(Mnemo.open({ storage: "floppy" }), InvalidInputError, "storage");
  await rejects(Mnemo.open({ name: 7 }), InvalidInputError, "name");

  await rejects(vec.remember({ content: "nan", vector: [1, Number.NaN, 0, 0] }), InvalidInputError, "vectors[0][1]");
  await rejects(vec.remember({ content: "inf", vector: new Float32Array([1, Infinity, 0, 0]) }), InvalidInputError, "vectors[0][1]");
  await rejects(vec.remember({ content: "short", vector: [1, 2] }), InvalidInputError, "vector");
  await rejects(vec.remember({ content: "words", vector: ["a", "b", "c", "d"] }), InvalidInputError, "memories[0].vector[0]");
  await rejects(vec.rememberMany(["a", "b"], { vectors: new Float32Array(7) }), InvalidInputError, "vectors");
  await rejects(vec.remember("no vector at all"), InvalidInputError);
  await rejects(vec.recall("q", { vector: [Number.NaN, 0, 0, 0] }), InvalidInputError, "vectors[0][0]");
  await rejects(vec.recall("q", { vector: new Float32Array(3) }), InvalidInputError, "vector");

  assert.deepEqual(await ns.stats(), before);
  assert.equal((await vec.stats()).memories, 0);

  const watch = await ns.watch();
  await db.close();
  await rejects(ns.remember("after close"), ClosedError);
  await rejects(ns.recall("after close"), ClosedError);
  await rejects(db.namespace("late"), ClosedError);
  assert.equal((await watch.next()).done, true);
  await db.close();
});

test("the README's example runs from the packed tarball in an empty folder", () => {
  const tarballs = fs.readdirSync(path.join(ROOT, "target/npm-pack")).filter((f) => f.endsWith(".tgz"));
  assert.equal(tarballs.length, 1);
  const readme = fs.readFileSync(path.join(NPM_DIR, "README.md"), "utf8");
  const example = /```js\n([\s\S]*?)```/.exec(readme)[1];
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "newcomer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", path.join(ROOT, "target/npm-pack", tarballs[0])], { cwd: dir });
  fs.writeFileSync(path.join(dir, "example.mjs"), example);
  const out = execFileSync(process.execPath, ["example.mjs"], { cwd: dir }).toString();
  const lines = out.trim().split("\n");
  assert.equal(lines.length, 2, out);
  assert.match(lines[0], /^1 \d\.\d{3} Alice prefers green tea$/);
  fs.rmSync(dir, { recursive: true, force: true });
});
