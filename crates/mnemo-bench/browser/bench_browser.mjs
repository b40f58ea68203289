// Drives the browser suite of mnemo-bench in headless Chromium.
//
//   node bench_browser.mjs MANIFEST.json OUT.json
//
// The manifest (written by crates/mnemo-bench/src/browser_suite.rs) names
// the directories to serve, the data files and the sizes of each phase. This
// script serves them over HTTP on a free loopback port (correct MIME types
// for .js and .wasm; cross-origin isolated, so performance.now() has 5 µs
// resolution), measures the packages' sizes (gzip -9), launches Chromium
// with a fresh profile, opens bench.html and runs the phases the manifest
// lists:
//
// - "vectors": window.bench.vectors(...) (see bench_page.js);
// - "opfs": window.bench.opfsWrite(...), then for every open: reload the
//   page, window.bench.opfsOpen(...); the database is removed at the end.
//
// It writes what the page answered, the packages' versions and sizes and
// the page's console to OUT.json, and exits 0; non-zero with a message on
// any failure, an uncaught exception in the page, or when the manifest's
// deadline passes. Its npm dependencies (package.json, package-lock.json
// here) are installed elsewhere (target/bench-browser), named by the
// manifest, and imported from there.
import http from 'node:http';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, sep, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync, constants as zlib } from 'node:zlib';

const [manifestPath, outPath] = process.argv.slice(2);
if (!manifestPath || !outPath) {
  console.error('usage: node bench_browser.mjs MANIFEST.json OUT.json');
  process.exit(64);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
// The dependencies are installed under target/, not beside this script.
const { chromium } = await import(
  pathToFileURL(join(manifest.dirs.node_modules, 'playwright-core/index.mjs')).href
);

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/** URL prefix -> [directory, Cache-Control]. */
const ROUTES = [
  ['/npm/', manifest.dirs.npm, 'max-age=3600'],
  ['/node_modules/', manifest.dirs.node_modules, 'max-age=3600'],
  ['/page/', manifest.dirs.page, 'no-store'],
  ['/data/', manifest.dirs.data, 'no-store'],
];

/** Requests served per route prefix (to tell what a reload took from the browser's cache). */
const served = Object.fromEntries(ROUTES.map(([prefix]) => [prefix, 0]));

function serve(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const route = ROUTES.find(([prefix]) => url.pathname.startsWith(prefix));
  if (route) served[route[0]]++;
  const fail = (status, text) => {
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    res.end(text);
  };
  if (!route || req.method !== 'GET') return fail(404, 'not found');
  const [prefix, dir, cache] = route;
  const root = resolve(dir);
  const file = resolve(root, decodeURIComponent(url.pathname.slice(prefix.length)));
  if (file !== root && !file.startsWith(root + sep)) return fail(403, 'outside the served directory');
  let size;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return fail(404, 'not a file');
    size = stat.size;
  } catch {
    return fail(404, 'not found');
  }
  res.writeHead(200, {
    'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
    'Content-Length': size,
    'Cache-Control': cache,
    // Cross-origin isolation: performance.now() at 5 µs, not 100 µs.
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
  createReadStream(file).pipe(res);
}

/** Raw and gzip -9 bytes of each file, and their sums. */
function sizes(files) {
  const out = { files: {}, bytes: 0, gzip_bytes: 0 };
  for (const [name, path] of Object.entries(files)) {
    const data = readFileSync(path);
    const gzip = gzipSync(data, { level: zlib.Z_BEST_COMPRESSION }).length;
    out.files[name] = { bytes: data.length, gzip_bytes: gzip };
    out.bytes += data.length;
    out.gzip_bytes += gzip;
  }
  return out;
}

function packageSizes() {
  const npm = manifest.dirs.npm;
  const modules = manifest.dirs.node_modules;
  const hnswDist = join(modules, 'hnswlib-wasm/dist');
  // hnswlib-wasm embeds its wasm, base64, in a hash-named module.
  const hnswChunk = readdirSync(hnswDist).find((f) => /^hnswlib-[0-9a-f]+\.js$/.test(f));
  if (!hnswChunk) throw new Error(`no hnswlib-<hash>.js in ${hnswDist}`);
  return {
    mnemo_wasm: sizes({ 'wasm/mnemo_wasm_bg.wasm': join(npm, 'wasm/mnemo_wasm_bg.wasm') }),
    mnemo_glue: sizes({ 'wasm/mnemo_wasm.js': join(npm, 'wasm/mnemo_wasm.js') }),
    mnemo_browser_js: sizes(Object.fromEntries(
      ['mnemo.js', 'errors.js', 'worker.js', 'host.js', 'volumes/opfs.js', 'volumes/idb.js', 'wasm/mnemo_wasm.js']
        .map((f) => [f, join(npm, f)]),
    )),
    edgevec_wasm: sizes({ 'edgevec_bg.wasm': join(modules, 'edgevec/edgevec_bg.wasm') }),
    edgevec_js: sizes({ 'edgevec.js': join(modules, 'edgevec/edgevec.js') }),
    hnswlib_js: sizes({ 'dist/hnswlib.js': join(hnswDist, 'hnswlib.js'), [`dist/${hnswChunk}`]: join(hnswDist, hnswChunk) }),
  };
}

function version(name) {
  return JSON.parse(readFileSync(join(manifest.dirs.node_modules, name, 'package.json'), 'utf8')).version;
}

let context = null;
let userDataDir = null;
let server = null;

async function cleanup() {
  try {
    if (context) await context.close();
  } catch {
    /* best effort */
  }
  context = null;
  if (server) server.close();
  server = null;
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  userDataDir = null;
}

const watchdog = setTimeout(() => {
  console.error(`bench_browser: FAILED: timed out after ${manifest.deadline_s} s`);
  cleanup().finally(() => process.exit(2));
}, manifest.deadline_s * 1000);

async function main() {
  const out = {
    versions: {
      edgevec: version('edgevec'),
      'hnswlib-wasm': version('hnswlib-wasm'),
      'playwright-core': version('playwright-core'),
      node: process.versions.node,
    },
    sizes: packageSizes(),
    console: [],
  };

  server = http.createServer(serve);
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const pageUrl = `${origin}/page/bench.html`;

  userDataDir = mkdtempSync(join(manifest.dirs.data, 'chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: manifest.chromium,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
    timeout: 90_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('console', (msg) => {
    const line = `${msg.type()}: ${msg.text()}`;
    out.console.push(line);
    if (msg.text().startsWith('[page]')) console.error(`  ${msg.text()}`);
    else console.error(`  page console ${line}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception in the page: ${err.message}`));

  const load = async () => {
    await page.goto(pageUrl, { waitUntil: 'load' });
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  };
  const run = async (fn, cfg) => {
    const result = await page.evaluate(([f, c]) => window.bench[f](c), [fn, cfg]);
    if (problems.length > 0) throw new Error(problems.join('\n'));
    return result;
  };

  await load();
  if (manifest.parts.includes('vectors')) {
    out.vectors = await run('vectors', manifest.vectors);
  }
  if (manifest.parts.includes('opfs')) {
    const cfg = manifest.opfs;
    out.opfs = { write: await run('opfsWrite', cfg), opens: [] };
    try {
      for (let i = 0; i < cfg.opens; i++) {
        await page.reload({ waitUntil: 'load' });
        await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
        const before = served['/npm/'];
        const open = await run('opfsOpen', cfg);
        // Files of the package the server sent during the open (the Worker,
        // its modules, the wasm); 0 when all came from the browser's cache.
        open.npm_requests_served = served['/npm/'] - before;
        console.error(`  opfs open ${i}: ${open.total_ms.toFixed(0)} ms (open ${open.open_ms.toFixed(0)}, namespace ${open.namespace_ms.toFixed(0)}, first recall ${open.first_recall_ms.toFixed(1)})`);
        out.opfs.opens.push(open);
      }
    } finally {
      await run('opfsRemove', cfg.name).catch((e) => console.error(`  removing the OPFS database: ${e.message}`));
    }
  }
  writeFileSync(outPath, JSON.stringify(out));
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`bench_browser: FAILED: ${err?.stack || err}`);
  code = 1;
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
process.exit(code);
