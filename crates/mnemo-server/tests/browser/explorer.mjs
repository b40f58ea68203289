// Drives the mnemo memory explorer in headless Chromium.
//
//   node explorer.mjs URL TOKEN NAMESPACE OUT.png [QUERY [LIFECYCLE]]
//
// URL is the explorer page (http://127.0.0.1:PORT/explorer/). The script
// enters the token, picks the namespace, recalls QUERY (default "trip"),
// waits for the hits and the activation graph, opens the first hit, follows
// its first link and comes back. With LIFECYCLE (JSON: `query`, the ids of a
// `summary` memory and of the memory `flagged` as its near-duplicate, the
// summary's `sources`, its `expires_at`, `merged` count and `tier`), it recalls
// that query, checks the tier its hit shows, opens the summary and checks
// its strength, touches, tier, deadline,
// merged writes and provenance (following one source), then opens the
// flagged memory and checks its duplicate flag. It takes a full-page screenshot to OUT.png and
// checks that the screenshot is not blank. It exits 0 on success and
// non-zero with a message on any failure, on any console error or uncaught
// exception in the page, on any failed or non-2xx API request, and after
// 60 s at the latest.
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const GLOBAL_TIMEOUT_MS = 150_000;
const LAUNCH_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 30_000;
const CHROMIUM = process.env.MNEMO_CHROMIUM || '/usr/bin/chromium';

const [url, token, namespace, out, query = 'trip', lifecycleArg] = process.argv.slice(2);
if (!url || !token || !namespace || !out) {
  console.error('usage: node explorer.mjs URL TOKEN NAMESPACE OUT.png [QUERY [LIFECYCLE]]');
  process.exit(64);
}
const lifecycle = lifecycleArg ? JSON.parse(lifecycleArg) : null;

let context = null;
let userDataDir = null;

function cleanup() {
  if (userDataDir) {
    try {
      rmSync(userDataDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    userDataDir = null;
  }
}

// Never hang: whatever is going on, give up after 150 s. Playwright kills the
// browser it launched when this process exits.
const watchdog = setTimeout(() => {
  console.error(`explorer test: FAILED: timed out after ${GLOBAL_TIMEOUT_MS / 1000} s`);
  cleanup();
  process.exit(2);
}, GLOBAL_TIMEOUT_MS);

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

async function main() {
  userDataDir = mkdtempSync(join(tmpdir(), 'mnemo-explorer-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1366, height: 1080 },
    deviceScaleFactor: 1,
    // A cold first start (nothing of chromium in the page cache, a new
    // font cache) has taken over 15 s on a busy CI machine.
    timeout: LAUNCH_TIMEOUT_MS,
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);

  // Everything that goes wrong in the page is collected and fails the test.
  const problems = [];
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception in the page: ${err.message}`));
  page.on('requestfailed', (req) => {
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? 'unknown'}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
  });
  const noProblems = (step) => {
    check(problems.length === 0, `${step}:\n  ${problems.join('\n  ')}`);
  };
  const byTestId = (id) => page.locator(`[data-testid="${id}"]`);

  try {
    // 1. open the page
    const response = await page.goto(url, { waitUntil: 'load' });
    check(response && response.ok(), `GET ${url} answered ${response ? response.status() : 'nothing'}`);
    const csp = response.headers()['content-security-policy'] || '';
    check(csp.includes("default-src 'self'"), `the page has no strict Content-Security-Policy (got "${csp}")`);
    await byTestId('token').waitFor({ state: 'visible' });
    noProblems('after loading the page');

    // 2. connect with the token and pick the namespace
    await byTestId('token').fill(token);
    await byTestId('connect').click();
    const select = byTestId('namespace');
    await page.waitForFunction(
      (ns) => {
        const s = document.querySelector('[data-testid="namespace"]');
        return s && !s.disabled && [...s.options].some((o) => o.value === ns);
      },
      namespace,
    );
    await select.selectOption(namespace);
    check(await byTestId('query').isEnabled(), 'the search box stays disabled after picking the namespace');
    noProblems('after connecting');

    // 3. recall
    await byTestId('query').fill(query);
    await byTestId('search').click();
    await byTestId('hit').first().waitFor({ state: 'visible' });
    await byTestId('graph-node').first().waitFor({ state: 'visible' });
    const hits = await byTestId('hit').count();
    const nodes = await byTestId('graph-node').count();
    const hitNodes = await page.locator('[data-testid="graph-node"][data-hit="true"]').count();
    const edges = await byTestId('graph-edge').count();
    check(hits >= 1, 'no hits listed');
    check(hitNodes >= 1, 'the graph shows no hit nodes');
    const signalCells = await page.locator('[data-testid="hit"] [data-testid^="signal-"]').count();
    check(signalCells >= hits, `expected signal contributions on every hit, found ${signalCells} cells for ${hits} hits`);
    const marks = await page.locator('[data-testid="hit-content"] mark').count();
    check(marks >= 1, `no matched term of "${query}" is highlighted in the hits`);
    const score = (await byTestId('hit-score').first().textContent())?.trim() ?? '';
    check(/^\d+\.\d+$/.test(score), `the first hit's score looks wrong: "${score}"`);
    check(await byTestId('error-banner').isHidden(), 'the error banner is shown after the recall');
    noProblems('after the recall');

    // 4. open the first hit
    const first = byTestId('hit').first();
    const firstId = await first.getAttribute('data-id');
    const firstText = ((await first.locator('[data-testid="hit-content"]').textContent()) ?? '').trim();
    await first.click();
    await page.waitForFunction(
      (id) => document.querySelector('[data-testid="detail-id"]')?.textContent === `memory ${id}`,
      firstId,
    );
    const detailText = ((await byTestId('detail-content').textContent()) ?? '').trim();
    check(detailText === firstText, `the detail shows "${detailText.slice(0, 80)}", not the hit's content`);
    await byTestId('detail-links').waitFor({ state: 'visible' });
    const links = await byTestId('link').count();
    check(links >= 1, `memory ${firstId} lists no links`);
    check(
      (await page.locator(`[data-testid="hit"][data-id="${firstId}"].selected`).count()) === 1,
      'the opened hit is not marked as selected',
    );

    // 5. follow its first link, then come back
    const linked = await byTestId('link').first().getAttribute('data-id');
    await byTestId('link').first().click();
    await page.waitForFunction(
      (id) => document.querySelector('[data-testid="detail-id"]')?.textContent === `memory ${id}`,
      linked,
    );
    await byTestId('detail-back').click();
    await page.waitForFunction(
      (id) => document.querySelector('[data-testid="detail-id"]')?.textContent === `memory ${id}`,
      firstId,
    );
    await byTestId('link').first().waitFor({ state: 'visible' });
    noProblems('after opening the memory');

    // 5b. a summary's use, deadline, merged writes and provenance, and the
    // duplicate flag of the memory that repeats it
    if (lifecycle) {
      const showing = (id) =>
        page.waitForFunction(
          (id) => document.querySelector('[data-testid="detail-id"]')?.textContent === `memory ${id}`,
          id,
        );
      const props = () =>
        page.evaluate(() => {
          const out = {};
          const dts = document.querySelectorAll('[data-testid="detail-props"] dt');
          for (const dt of dts) out[dt.textContent] = dt.nextElementSibling?.textContent ?? '';
          return out;
        });
      await byTestId('query').fill(lifecycle.query);
      await byTestId('search').click();
      const summaryHit = page.locator(`[data-testid="hit"][data-id="${lifecycle.summary}"]`);
      await summaryHit.waitFor({ state: 'visible' });
      const hitTier = await summaryHit.locator('[data-testid="hit-tier"]').textContent();
      check(hitTier === lifecycle.tier, `the summary's hit says tier "${hitTier}", not ${lifecycle.tier}`);
      await summaryHit.click();
      await showing(lifecycle.summary);
      const shown = await props();
      check(/^-?\d+\.\d{3}$/.test(shown.strength ?? ''), `strength looks wrong: ${JSON.stringify(shown)}`);
      check(/^\d+$/.test(shown.touches ?? ''), `touches look wrong: ${JSON.stringify(shown)}`);
      check(shown.tier === lifecycle.tier, `tier is "${shown.tier}", not ${lifecycle.tier}`);
      check(shown.expires === lifecycle.expires_at, `expires is "${shown.expires}", not ${lifecycle.expires_at}`);
      check(
        (shown['merged writes'] ?? '').startsWith(`${lifecycle.merged} (latest: `),
        `merged writes: "${shown['merged writes']}"`,
      );
      const provenance = page.locator('[data-testid="detail-provenance"] [data-testid="provenance"]');
      const listed = await provenance.evaluateAll((nodes) => nodes.map((n) => Number(n.getAttribute('data-id'))));
      check(
        JSON.stringify([...listed].sort((a, b) => a - b)) === JSON.stringify([...lifecycle.sources].sort((a, b) => a - b)),
        `provenance lists ${JSON.stringify(listed)}, not the sources ${JSON.stringify(lifecycle.sources)}`,
      );
      const source = listed[0];
      await provenance.first().click();
      await showing(source);
      await byTestId('detail-back').click();
      await showing(lifecycle.summary);

      const flaggedHit = page.locator(`[data-testid="hit"][data-id="${lifecycle.flagged}"]`);
      await flaggedHit.click();
      await showing(lifecycle.flagged);
      const repeats = await page
        .locator('[data-testid="detail-duplicate-of"] [data-testid="duplicate-of"]')
        .getAttribute('data-id');
      check(Number(repeats) === lifecycle.summary, `memory ${lifecycle.flagged} repeats "${repeats}", not ${lifecycle.summary}`);
      check((await props()).expires === 'never', 'the flagged memory has no deadline');
      noProblems('after the lifecycle of a summary');
    }

    // 6. screenshot
    await page.evaluate(async () => {
      window.scrollTo(0, 0);
      await document.fonts.ready;
    });
    await page.screenshot({ path: out, fullPage: true, animations: 'disabled' });
    const png = readFileSync(out);
    check(png.length > 10_000, `the screenshot is only ${png.length} bytes`);

    // 7. the screenshot is not blank: decode it in a page without a CSP
    const probe = await context.newPage();
    const stats = await probe.evaluate(async (dataUrl) => {
      const img = new Image();
      img.src = dataUrl;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(img, 0, 0);
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        counts.set(key, (counts.get(key) || 0) + 1);
      }
      let background = 0;
      for (const n of counts.values()) background = Math.max(background, n);
      const pixels = data.length / 4;
      return { width: canvas.width, height: canvas.height, colours: counts.size, pixels, foreground: pixels - background };
    }, `data:image/png;base64,${png.toString('base64')}`);
    await probe.close();
    check(stats.colours >= 20, `the screenshot has only ${stats.colours} distinct colours`);
    check(
      stats.foreground >= stats.pixels * 0.05,
      `the screenshot is nearly blank: ${stats.foreground} of ${stats.pixels} pixels differ from the background`,
    );
    noProblems('at the end');

    console.log(
      `explorer test: ok: ${hits} hits, ${nodes} graph nodes (${hitNodes} hits), ${edges} edges, ` +
        `${links} links on memory ${firstId}; screenshot ${out} ${stats.width}x${stats.height}, ` +
        `${png.length} bytes, ${stats.colours} colours, ` +
        `${((100 * stats.foreground) / stats.pixels).toFixed(1)}% foreground`,
    );
  } catch (err) {
    // keep what the page looked like when it failed
    const failure = out.replace(/\.png$/i, '') + '-failure.png';
    try {
      await page.screenshot({ path: failure, fullPage: true, timeout: 5_000 });
      console.error(`explorer test: the page at the failure is in ${failure}`);
    } catch {
      /* no screenshot */
    }
    if (problems.length && !(err instanceof Failure)) {
      err.message += `\n  page problems:\n  ${problems.join('\n  ')}`;
    }
    throw err;
  }
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`explorer test: FAILED: ${err instanceof Failure ? err.message : err?.stack || err}`);
  code = 1;
} finally {
  try {
    if (context) await context.close();
  } catch {
    /* the browser is gone already */
  }
  cleanup();
  clearTimeout(watchdog);
}
try {
  statSync(out);
} catch {
  if (code === 0) {
    console.error(`explorer test: FAILED: no screenshot at ${out}`);
    code = 1;
  }
}
process.exit(code);
