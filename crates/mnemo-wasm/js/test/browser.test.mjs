// The package in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core over CDP): OPFS and IndexedDB persistence across a
// reload and across a browser killed (SIGKILL) after acknowledged writes,
// a second tab refused by the Web Lock, recall identical to the native
// engine on the same data and vectors, bad input from JavaScript, the page
// kept responsive while the worker works, and the demo page.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { NPM_DIR, dataset, nativeRecall } from "./util.mjs";

const CHROMIUM = process.env.MNEMO_CHROMIUM ?? "/usr/bin/chromium";
const PAGES = path.join(path.dirname(fileURLToPath(import.meta.url)), "pages");
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html; charset=utf-8",
  ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".svg": "image/svg+xml" };

let server;
let origin;
const browsers = [];

/** Serves the built package at / and the test pages at /test/. */
function serve() {
  return new Promise((resolve) => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url, "http://localhost");
      const [base, rel] = url.pathname.startsWith("/test/")
        ? [PAGES, url.pathname.slice("/test/".length)]
        : [NPM_DIR, url.pathname.slice(1) || "index.html"];
      const file = path.resolve(base, rel);
      if (!file.startsWith(base) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end("not found");
        return;
      }
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      fs.createReadStream(file).pipe(res);
    });
    server.listen(0, "127.0.0.1", () => {
      origin = `http://127.0.0.1:${server.address().port}`;
      resolve();
    });
  });
}

/**
 * Starts Chromium on profile `profile` (a directory kept across launches)
 * and connects to it; `kill()` ends it with SIGKILL.
 */
async function launch(profile) {
  const child = spawn(CHROMIUM, [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", `--user-data-dir=${profile}`,
    "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  const endpoint = await new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`chromium did not start: ${text}`)), 60_000);
    child.stderr.on("data", (chunk) => {
      text += chunk;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`chromium exited (${code}): ${text}`)));
  });
  child.stderr.resume();
  const browser = await chromium.connectOverCDP(endpoint);
  const context = browser.contexts()[0];
  const handle = {
    context,
    async page() {
      const page = await context.newPage();
      const problems = [];
      page.on("pageerror", (e) => problems.push(String(e)));
      page.problems = problems;
      await page.goto(`${origin}/test/harness.html`);
      await page.waitForFunction(() => window.harnessReady === true);
      return page;
    },
    kill() {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      // A child ended by a signal has a signalCode and no exitCode.
      const ended = () => child.exitCode !== null || child.signalCode !== null;
      return new Promise((resolve) => (ended() ? resolve() : child.once("exit", resolve)));
    },
    async close() {
      await browser.close().catch(() => {});
      await handle.kill();
    },
  };
  browsers.push(handle);
  return handle;
}

function profileDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), "mnemo-npm-chromium-"));
}

before(serve);
after(async () => {
  for (const b of browsers) await b.kill();
  server?.closeAllConnections();
  server?.close();
});

for (const storage of ["opfs", "indexeddb"]) {
  test(`${storage}: memories survive a reload and a killed browser`, async () => {
    const profile = profileDir();
    let browser = await launch(profile);
    let page = await browser.page();
    const opened = await page.evaluate(async (storage) => {
      const db = await window.mnemo.Mnemo.open({ name: "durable", storage });
      const ns = await db.namespace("notes");
      await ns.rememberMany(["first memory", "second memory", "third memory"]);
      window.db = db;
      return db.storage;
    }, storage);
    assert.equal(opened, storage);

    // A reload without close: the worker dies, its lock goes with it.
    await page.reload();
    await page.waitForFunction(() => window.harnessReady === true);
    const afterReload = await page.evaluate(async (storage) => {
      const db = await window.mnemo.Mnemo.open({ name: "durable", storage });
      const ns = await db.namespace("notes");
      const contents = (await ns.query()).memories.map((m) => m.content);
      const hits = (await ns.recall("second", { k: 1 })).hits.map((h) => h.memory.content);
      window.db = db;
      window.ns = ns;
      return { contents, hits };
    }, storage);
    assert.deepEqual(afterReload.contents, ["first memory", "second memory", "third memory"]);
    assert.deepEqual(afterReload.hits, ["second memory"]);

    // Writes acknowledged one by one, then the whole browser is killed.
    const acked = [];
    page.on("console", (message) => {
      const match = /^ack (\d+)$/.exec(message.text());
      if (match) acked.push(Number(match[1]));
    });
    await page.evaluate(() => {
      (async () => {
        for (let i = 0; ; i++) {
          const id = await window.ns.remember(`write ${i}`);
          console.log(`ack ${id}`);
        }
      })();
    });
    const deadline = Date.now() + 60_000;
    while (acked.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(acked.length >= 30, `only ${acked.length} writes acknowledged`);
    await browser.kill();

    browser = await launch(profile);
    page = await browser.page();
    const ids = await page.evaluate(async (storage) => {
      const db = await window.mnemo.Mnemo.open({ name: "durable", storage });
      const ns = await db.namespace("notes");
      const ids = (await ns.query({ limit: 1000 })).memories.map((m) => m.id);
      await db.close();
      return ids;
    }, storage);
    const stored = new Set(ids);
    for (const id of acked) assert.ok(stored.has(id), `acknowledged memory ${id} was lost (${storage})`);
    assert.deepEqual(page.problems, []);
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
}

test("a second tab is refused by the lock; it opens once the first closes", async () => {
  const browser = await launch(profileDir());
  const first = await browser.page();
  const second = await browser.page();
  await first.evaluate(async () => {
    window.db = await window.mnemo.Mnemo.open({ name: "shared" });
    await (await window.db.namespace("n")).remember("from the first tab");
  });
  const refused = await second.evaluate(async () => {
    try {
      await window.mnemo.Mnemo.open({ name: "shared" });
      return "opened";
    } catch (e) {
      return `${e.name} ${e.code} ${e instanceof window.mnemo.MnemoError}`;
    }
  });
  assert.equal(refused, "LockedError locked true");
  // The first tab is untouched and keeps working.
  assert.equal(await first.evaluate(async () => (await (await window.db.namespace("n")).stats()).memories), 1);
  await first.evaluate(() => window.db.close());
  const seen = await second.evaluate(async () => {
    const db = await window.mnemo.Mnemo.open({ name: "shared" });
    const ns = await db.namespace("n");
    const contents = (await ns.query()).memories.map((m) => m.content);
    await db.close();
    return contents;
  });
  assert.deepEqual(seen, ["from the first tab"]);
  await browser.close();
});

test("recall in the browser is the native engine's: same ids in the same order", async () => {
  const dimension = 64;
  const data = dataset(3000, 40, dimension, 11);
  const browser = await launch(profileDir());
  const page = await browser.page();
  const wasm = await page.evaluate(async ({ memories, vectors, queries, dimension }) => {
    const db = await window.mnemo.Mnemo.open({ name: "same", storage: "opfs" });
    const ns = await db.namespace("same", { embedder: "vectors", dimension });
    const flat = new Float32Array(vectors);
    for (let at = 0; at < memories.length; at += 500) {
      const batch = memories.slice(at, at + 500);
      await ns.rememberMany(batch, { vectors: flat.subarray(at * dimension, (at + batch.length) * dimension) });
    }
    const out = [];
    for (const q of queries) {
      const result = await ns.recall(q.query, { k: 10, vector: new Float32Array(q.vector) });
      out.push(result.hits.map((h) => h.memory.id));
    }
    await db.close();
    return out;
  }, {
    memories: data.memories,
    vectors: Array.from(data.vectors),
    queries: data.queries.map((q) => ({ query: q.query, vector: Array.from(q.vector) })),
    dimension,
  });
  assert.deepEqual(wasm, nativeRecall(data, dimension, 10));
  await browser.close();
});

test("bad input from JavaScript gets typed errors and writes nothing; the page stays responsive", async () => {
  const browser = await launch(profileDir());
  const page = await browser.page();
  const outcome = await page.evaluate(async () => {
    const { Mnemo, InvalidInputError, ClosedError } = window.mnemo;
    const db = await Mnemo.open({ name: "bad", storage: "opfs" });
    const ns = await db.namespace("n", { embedder: "vectors", dimension: 8 });
    await ns.remember({ content: "good", vector: new Float32Array(8).fill(0.5) });
    const before = JSON.stringify(await ns.stats());
    const errors = [];
    const attempt = async (label, f) => {
      try {
        await f();
        errors.push(`${label}: no error`);
      } catch (e) {
        errors.push(`${label}: ${e.constructor.name} ${e.code} ${e instanceof InvalidInputError || e instanceof ClosedError}`);
      }
    };
    await attempt("number", () => ns.remember(42));
    await attempt("object content", () => ns.remember({ content: { nested: true }, vector: new Float32Array(8) }));
    await attempt("NaN", () => ns.remember({ content: "nan", vector: new Float32Array(8).fill(Number.NaN) }));
    await attempt("huge batch", () => ns.rememberMany(Array.from({ length: 10001 }, () => "x"), { vectors: new Float32Array(80008) }));
    await attempt("flat mismatch", () => ns.rememberMany(["a", "b"], { vectors: new Float32Array(9) }));
    await attempt("recall NaN", () => ns.recall("q", { vector: new Float32Array(8).fill(Number.NaN) }));
    await attempt("bad id", () => ns.get(Number.NaN));
    await attempt("symbol", () => ns.recall(Symbol("q")));
    const after = JSON.stringify(await ns.stats());

    // A big batch runs in the worker: timers on the page keep firing.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const n = 10000;
    const vectors = new Float32Array(n * 8).map((_, i) => Math.sin(i));
    const started = performance.now();
    await ns.rememberMany(Array.from({ length: n }, (_, i) => `bulk ${i}`), { vectors });
    const took = performance.now() - started;
    clearInterval(timer);

    await db.close();
    await attempt("closed", () => ns.remember({ content: "late", vector: new Float32Array(8) }));
    return { errors, same: before === after, ticks, took };
  });
  assert.deepEqual(outcome.errors, [
    "number: InvalidInputError invalid_request true",
    "object content: InvalidInputError invalid_request true",
    "NaN: InvalidInputError invalid_request true",
    "huge batch: InvalidInputError invalid_request true",
    "flat mismatch: InvalidInputError invalid_request true",
    "recall NaN: InvalidInputError invalid_request true",
    "bad id: InvalidInputError invalid_request true",
    "symbol: InvalidInputError invalid_request true",
    "closed: ClosedError closed true",
  ]);
  assert.ok(outcome.same, "a refused call changed the namespace");
  // Timers fire every 5 ms while the batch runs off the main thread
  // (how many depends on the machine's speed: at least a few).
  assert.ok(outcome.ticks >= Math.min(3, Math.floor(outcome.took / 20)), JSON.stringify(outcome));
  await browser.close();
});

test("the demo page keeps a memory across a reload", async () => {
  const browser = await launch(profileDir());
  const page = await browser.context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(`${origin}/demo/index.html`);
  await page.waitForFunction(() => /opfs|indexeddb/.test(document.querySelector("#storage")?.textContent ?? ""));
  await page.fill("#content", "The demo remembers the blue umbrella");
  await page.click("#remember");
  await page.waitForSelector("#memories [data-id]");
  await page.fill("#query", "umbrella");
  await page.click("#recall");
  await page.waitForSelector("#hits [data-id]");
  await page.reload();
  await page.waitForSelector("#memories [data-id]");
  const listed = await page.textContent("#memories");
  assert.ok(listed.includes("blue umbrella"), listed);
  assert.deepEqual(problems, []);
  await browser.close();
});
