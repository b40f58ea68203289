// mnemo in-browser demo: the `mnemo` package driven from a static page.
//
// The engine runs in the package's dedicated Worker and keeps its data in
// OPFS (IndexedDB where OPFS is missing); nothing talks to a server. The
// look is the memory explorer's (crates/mnemo-server/explorer/), and so are
// the DOM helpers, signal bars and graph drawing: its viz.js, which
// scripts/build-npm copies beside this file and index.html loads first (the
// global `MnemoViz`).
//
// Every piece of data goes into the page with textContent / setAttribute,
// never innerHTML, and styles are set through CSSOM properties only, so the
// page runs under a strict Content-Security-Policy (no inline script or
// style, nothing from another origin).
//
// URL parameters (optional): `name` (the database, default "demo") and
// `storage` ("opfs", the default, "indexeddb" or "memory").

import { Mnemo, MnemoError, LockedError, ClosedError } from '../mnemo.js';

const NAMESPACE = 'default';
const K = 10; // hits per recall
const LIST_LIMIT = 200; // memories listed
const STORAGES = ['opfs', 'indexeddb', 'memory'];
const viz = globalThis.MnemoViz;
const { el, clear, snippet, fmt, onActivate, signalClass, hitItem, showSummary, signalBars, drawGraph, redrawOnResize } = viz;

const EXAMPLES = [
  { content: 'Alice prefers green tea to coffee, and never drinks it after 4pm.', tags: ['alice', 'preferences'] },
  { content: 'The quarterly report is due on Friday; Bob reviews the numbers first.', tags: ['work', 'deadline'] },
  { content: 'Alice is allergic to peanuts: check the menu when booking the team dinner.', tags: ['alice', 'health'] },
  { content: 'The staging server restarts every night at 2am, so deploys wait until 3am.', tags: ['ops'] },
  { content: 'Bob moved to the Lisbon office in March and now works on the search team.', tags: ['bob', 'work'] },
];

const params = new URLSearchParams(location.search);
const DB_NAME = params.get('name') || 'demo';
const REQUESTED = STORAGES.includes(params.get('storage')) ? params.get('storage') : 'opfs';

const state = {
  db: null,
  ns: null,
  opening: null, // the open in flight
  memories: [],
  total: 0,
  recall: null, // the last recall's answer
  query: '', // ... and its query
  terms: [], // matched terms of the last recall, for highlighting
  selected: null, // the id of the memory selected (hit, node, list item)
  fresh: null, // the id just remembered, flashed in the list once
  recallSeq: 0,
  listSeq: 0,
};

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error('demo: missing element #' + id);
  return node;
};

// ---- formatting -------------------------------------------------------------

function plural(n, word, many) {
  return n + ' ' + (n === 1 ? word : many || word + 's');
}

function when(at) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at || '');
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// ---- status & errors ----------------------------------------------------

/** The status line: `kind` ok (green), bad (red) or busy (grey). */
function setStatus(text, kind) {
  const status = $('status');
  status.textContent = text;
  status.className = 'status' + (kind === 'ok' || kind === 'bad' ? ' ' + kind : '');
  status.setAttribute('data-state', kind || 'busy');
}

function showBanner(text, { retry = false } = {}) {
  $('banner-text').textContent = text;
  $('retry').hidden = !retry;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
  $('banner-text').textContent = '';
  $('retry').hidden = true;
}

/** `{code, message}` of anything thrown: MnemoError's own, else `internal`. */
function describe(err) {
  if (err instanceof MnemoError) return { code: err.code, message: err.message };
  return { code: 'internal', message: err && err.message ? err.message : String(err) };
}

/** Shows a failure of `action` in the banner and the status line. */
function report(action, err) {
  const { code, message } = describe(err);
  setStatus(code + ': ' + message, 'bad');
  if (err instanceof ClosedError || code === 'internal') {
    // the database was closed under us, the worker died or the engine
    // stopped: offer to start over (a transient failure leaves it usable)
    if (err instanceof ClosedError) setReady(false);
    showBanner(action + ' failed: ' + message + ' (' + code + '). Reopen the database to continue.', { retry: true });
    return;
  }
  showBanner(action + ' failed: ' + message + ' (' + code + ')');
}

// ---- opening ------------------------------------------------------------

function setReady(ready) {
  for (const id of ['content', 'tags', 'remember', 'query', 'recall', 'examples']) $(id).disabled = !ready;
  for (const button of document.querySelectorAll('.btn-forget')) button.disabled = !ready;
  document.body.setAttribute('data-ready', ready ? 'true' : 'false');
}

function showStorage(storage) {
  const pill = $('storage');
  pill.textContent = storage || 'not open';
  pill.className = 'pill ' + (storage || 'none');
  document.body.setAttribute('data-storage', storage || '');
  const note = $('storage-note');
  if (storage && storage !== REQUESTED) {
    note.textContent = REQUESTED + ' unavailable';
    note.title = 'This browser has no ' + REQUESTED + ' (in a worker): the package fell back to ' + storage + '.';
    note.hidden = false;
  } else if (storage === 'memory') {
    note.textContent = 'gone on reload';
    note.title = 'In memory: nothing is kept when the page closes.';
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

/** Closes the database if open (releasing its lock) and opens it again. */
async function reopen() {
  if (state.opening) return state.opening;
  const db = state.db;
  state.db = null;
  state.ns = null;
  if (db) await db.close().catch(() => {});
  return open();
}

function open() {
  if (state.db) return Promise.resolve();
  if (!state.opening) {
    state.opening = doOpen().finally(() => {
      state.opening = null;
    });
  }
  return state.opening;
}

async function doOpen() {
  hideBanner();
  setReady(false);
  $('storage').textContent = 'opening…';
  setStatus('opening “' + DB_NAME + '”…', 'busy');
  if (location.protocol === 'file:') {
    showStorage(null);
    setStatus('not open: the page needs http', 'bad');
    showBanner('Serve this folder over http (e.g. `python3 -m http.server` in the package directory): ' +
      'module workers do not run from file:// pages.');
    $('memories-empty').textContent = 'The database is not open.';
    return;
  }
  let db = null;
  try {
    db = await Mnemo.open({ name: DB_NAME, storage: REQUESTED });
    const ns = await db.namespace(NAMESPACE);
    state.db = db;
    state.ns = ns;
  } catch (err) {
    if (db) db.close().catch(() => {});
    showStorage(null);
    $('memories-empty').textContent = 'The database is not open.';
    if (err instanceof LockedError) {
      setStatus('locked: ' + err.message, 'bad');
      showBanner('The database “' + DB_NAME + '” is open in another tab or window, and only one may use it at a time. ' +
        'Close the demo there, then retry.', { retry: true });
    } else {
      const { code, message } = describe(err);
      setStatus(code + ': ' + message, 'bad');
      // bad input (the `name` parameter) fails the same way again
      showBanner('Opening the database failed: ' + message + ' (' + code + ')', { retry: code !== 'invalid_request' });
    }
    return;
  }
  showStorage(state.db.storage);
  setReady(true);
  try {
    await refresh();
    setStatus('opened “' + DB_NAME + '” in ' + state.db.storage + ' · ' + plural(state.total, 'memory', 'memories'), 'ok');
    if (state.query) await recall({ quiet: true });
  } catch (err) {
    report('Loading the memories', err);
  }
}

// ---- memories & stats ---------------------------------------------------

async function refresh() {
  await Promise.all([loadMemories(), loadStats()]);
}

async function loadMemories() {
  const seq = ++state.listSeq;
  const list = await state.ns.query({ order_by: 'id', descending: true, limit: LIST_LIMIT });
  if (seq !== state.listSeq) return;
  state.memories = Array.isArray(list.memories) ? list.memories : [];
  state.total = typeof list.total === 'number' ? list.total : state.memories.length;
  renderMemories();
}

function renderMemories() {
  const list = $('memories');
  clear(list);
  const ready = Boolean(state.ns);
  for (const m of state.memories) {
    const forget = el('button', {
      type: 'button',
      class: 'btn btn-small btn-forget',
      'data-testid': 'forget',
      'data-forget': m.id,
      title: 'Forget memory ' + m.id,
      'aria-label': 'Forget memory ' + m.id,
      disabled: !ready,
      text: 'Forget',
    });
    forget.addEventListener('click', (e) => {
      e.stopPropagation();
      forgetMemory(m.id, forget);
    });
    const item = el(
      'li',
      {
        class: 'memory' + (m.id === state.selected ? ' selected' : '') + (m.id === state.fresh ? ' fresh' : ''),
        'data-testid': 'memory',
        'data-id': m.id,
        tabindex: 0,
      },
      el(
        'div',
        { class: 'memory-head' },
        el('span', { class: 'memory-id', text: '#' + m.id }),
        el('time', { class: 'memory-at', datetime: m.at, title: 'at ' + m.at + '\nrecorded ' + m.recorded, text: when(m.at) }),
        forget,
      ),
      el('div', { class: 'memory-content', 'data-testid': 'memory-content', text: m.content }),
      (m.tags || []).length
        ? el('div', { class: 'tags', 'data-testid': 'memory-tags' }, m.tags.map((t) => el('span', { class: 'tag', text: t })))
        : null,
    );
    onActivate(item, () => select(m.id, false));
    list.appendChild(item);
  }
  state.fresh = null;
  $('memory-count').textContent = state.ns ? String(state.total) : '';
  const empty = $('memories-empty');
  empty.hidden = state.memories.length > 0;
  if (state.ns) empty.textContent = 'Nothing remembered yet: write something above, or add the examples.';
  const more = $('memories-more');
  more.hidden = state.total <= state.memories.length;
  more.textContent = 'The newest ' + state.memories.length + ' of ' + state.total + ' are listed.';
}

async function loadStats() {
  const [stats, root] = await Promise.all([state.ns.stats(), state.ns.root()]);
  const dl = $('stats');
  clear(dl);
  const row = (name, value) => {
    if (value === undefined || value === null) return;
    dl.append(el('dt', { text: name }), el('dd', { 'data-testid': 'stat-' + name.replace(/\s+/g, '-'), text: String(value) }));
  };
  row('memories', stats.memories);
  row('links', stats.links);
  row('vectors', stats.vectors);
  row('tags', stats.tags);
  row('facts', stats.facts);
  row('events', stats.events);
  row('log bytes', typeof stats.log_bytes === 'number' ? stats.log_bytes.toLocaleString() : undefined);
  row('embedder', stats.embedder);
  const rootEl = $('root');
  const hex = root && typeof root.root === 'string' ? root.root : '';
  // the log's length: `length` (what the engine answers) or `seq`
  const length = root ? (root.length ?? root.seq) : undefined;
  rootEl.textContent = hex || '–';
  rootEl.setAttribute('data-root', hex);
  $('root-length').textContent = typeof length === 'number' ? 'after ' + plural(length, 'event') : '';
}

// ---- remember & forget -----------------------------------------------------

function parseTags(text) {
  const seen = new Set();
  for (const raw of text.split(',')) {
    const tag = raw.trim();
    if (tag) seen.add(tag);
  }
  return [...seen];
}

async function remember() {
  if (!state.ns) return;
  const content = $('content').value.trim();
  if (!content) {
    setStatus('nothing to remember: type some text first', 'bad');
    $('content').focus();
    return;
  }
  const tags = parseTags($('tags').value);
  const button = $('remember');
  button.disabled = true;
  hideBanner();
  setStatus('remembering…', 'busy');
  try {
    const id = await state.ns.remember(tags.length ? { content, tags } : { content });
    $('content').value = '';
    $('tags').value = '';
    state.selected = id;
    state.fresh = id;
    await refresh();
    markSelected();
    $('memories').scrollTop = 0;
    setStatus('remembered #' + id + (tags.length ? ' with ' + plural(tags.length, 'tag') : ''), 'ok');
  } catch (err) {
    report('Remembering', err);
  } finally {
    button.disabled = !state.ns;
    $('content').focus();
  }
}

async function addExamples() {
  if (!state.ns) return;
  const button = $('examples');
  button.disabled = true;
  hideBanner();
  setStatus('remembering the examples…', 'busy');
  try {
    const ids = await state.ns.rememberMany(EXAMPLES);
    // the two memories about Alice are linked, so activation spreads
    await state.ns.link(ids[0], ids[2], { kind: 'same-person' });
    await refresh();
    setStatus('remembered ' + ids.length + ' examples (#' + ids[0] + '–#' + ids[ids.length - 1] + ')', 'ok');
    if (!$('query').value) $('query').value = 'what does Alice drink';
  } catch (err) {
    report('Remembering the examples', err);
  } finally {
    button.disabled = !state.ns;
  }
}

async function forgetMemory(id, button) {
  if (!state.ns) return;
  if (button) button.disabled = true;
  hideBanner();
  setStatus('forgetting #' + id + '…', 'busy');
  try {
    await state.ns.forget(id);
    if (state.selected === id) state.selected = null;
    await refresh();
    if (state.recall) await recall({ quiet: true });
    setStatus('forgot #' + id, 'ok');
  } catch (err) {
    if (button) button.disabled = !state.ns;
    report('Forgetting #' + id, err);
  }
}

// ---- recall -------------------------------------------------------------------

/** Recalls `#query` (or, `quiet`, the last query again after a change). */
async function recall({ quiet = false } = {}) {
  if (!state.ns) return;
  const query = quiet ? state.query : $('query').value.trim();
  if (!query) {
    if (!quiet) {
      setStatus('nothing to recall: type a query first', 'bad');
      $('query').focus();
    }
    return;
  }
  if (!quiet) hideBanner();
  const seq = ++state.recallSeq;
  if (!quiet) setStatus('recalling…', 'busy');
  $('summary').textContent = 'recalling…';
  const started = performance.now();
  try {
    const answer = await state.ns.recall(query, { k: K, graph: true });
    if (seq !== state.recallSeq) return;
    const ms = performance.now() - started;
    state.recall = answer;
    state.query = query;
    const terms = new Set();
    for (const hit of answer.hits || []) for (const t of hit.matched_terms || []) terms.add(String(t).toLowerCase());
    state.terms = [...terms];
    renderSummary(answer, ms);
    renderHits();
    renderGraph();
    if (!quiet) setStatus('recalled ' + plural((answer.hits || []).length, 'hit') + ' for “' + snippet(query, 40) + '”', 'ok');
  } catch (err) {
    if (seq !== state.recallSeq) return;
    $('summary').textContent = '';
    report('Recalling', err);
  }
}

function renderSummary(data, ms) {
  const hits = (data.hits || []).length;
  const parts = [plural(hits, 'hit')];
  if (typeof data.seeds === 'number') parts.push(plural(data.seeds, 'seed'));
  if (data.complete === false) parts.push('incomplete (budget)');
  if (data.time_hint && (data.time_hint.from || data.time_hint.until)) {
    parts.push('time ' + (data.time_hint.from || '…') + ' → ' + (data.time_hint.until || '…'));
  }
  parts.push(ms.toFixed(1) + ' ms');
  showSummary($('summary'), parts, state.terms);
}

/**
 * Each signal's share of the hit's score, as [name, value] pairs: the
 * explanation's contributions (a recall with `graph` is explained), else
 * the signals' own normalized scores.
 */
function contributions(hit) {
  return viz.contributions(hit, true);
}

function renderHits() {
  const list = $('hits');
  clear(list);
  const hits = (state.recall && state.recall.hits) || [];
  $('hits-empty').hidden = hits.length > 0;
  if (state.recall && hits.length === 0) $('hits-empty').textContent = 'Nothing recalled.';
  let scale = 0;
  let top = 0;
  for (const hit of hits) {
    for (const [, v] of contributions(hit)) scale = Math.max(scale, Math.abs(v));
    top = Math.max(top, Number(hit.score) || 0);
  }
  if (scale === 0) scale = 1;
  if (top === 0) top = 1;

  const options = { selected: state.selected, action: 'Select memory', onSelect: (id) => select(id, true) };
  hits.forEach((hit, index) => {
    const item = hitItem(hit, index, state.terms, options);
    item.appendChild(renderScoreStack(hit, top));
    item.appendChild(signalBars(hit, contributions(hit), scale, { raw: true }));
    list.appendChild(item);
  });
}

/** The total score as a stacked bar of the signals' shares (relative to the best hit). */
function renderScoreStack(hit, top) {
  const parts = contributions(hit);
  const stack = el('div', {
    class: 'score-stack',
    'data-testid': 'score-stack',
    title: 'score ' + fmt(hit.score, 3) + ' = ' + (parts.map(([n, v]) => n + ' ' + fmt(v, 3)).join(' + ') || '0'),
  });
  for (const [name, value] of parts) {
    const part = el('div', { class: 'score-part ' + signalClass(name) });
    part.style.width = Math.max(0, Math.min(100, (Math.abs(value) / top) * 100)).toFixed(1) + '%';
    stack.appendChild(part);
  }
  return stack;
}

// ---- selection ------------------------------------------------------------------

/** Selects a memory: marks it in the hits, the graph and the list (scrolled into view). */
function select(id, reveal) {
  state.selected = state.selected === id && !reveal ? null : id;
  markSelected();
  if (!reveal || state.selected === null) return;
  const list = $('memories');
  const item = list.querySelector('[data-id="' + String(id) + '"]');
  if (!item) return;
  const top = item.offsetTop - list.offsetTop;
  if (top < list.scrollTop || top + item.offsetHeight > list.scrollTop + list.clientHeight) {
    list.scrollTo({ top: Math.max(0, top - 8) });
  }
}

function markSelected() {
  const selected = String(state.selected);
  for (const node of document.querySelectorAll('[data-testid="hit"], [data-testid="memory"], [data-testid="graph-node"]')) {
    node.classList.toggle('selected', node.getAttribute('data-id') === selected);
  }
}

// ---- graph --------------------------------------------------------------------

/** Draws the last recall's activation graph (`{nodes, edges}`) into #graph. */
function renderGraph() {
  const wrap = $('graph-wrap');
  const root = $('graph');
  clear(root);
  const graph = state.recall && state.recall.graph;
  const nodes = (graph && Array.isArray(graph.nodes) && graph.nodes) || [];
  const edges = (graph && Array.isArray(graph.edges) && graph.edges) || [];
  // an SVG element has no `hidden` property: the attribute itself
  root.toggleAttribute('hidden', nodes.length === 0);
  $('graph-empty').hidden = nodes.length > 0;
  $('graph-empty').textContent = state.recall ? 'The recall reached no graph.' : 'No graph yet: recall something.';
  root.setAttribute('data-nodes', String(nodes.length));
  root.setAttribute('data-edges', String(edges.length));
  if (!nodes.length) return;

  // lay out at the box's real size, so labels keep their size on small screens
  const width = Math.max(320, Math.round(wrap.clientWidth || 640));
  const height = Math.round(Math.max(300, Math.min(480, width * 0.72)));
  root.setAttribute('aria-label', 'Activation graph: ' + plural(nodes.length, 'memory', 'memories') + ', ' + plural(edges.length, 'edge'));
  drawGraph(root, nodes, edges, {
    width,
    height,
    selected: state.selected,
    onSelect: (id) => select(id, true),
    action: 'Select memory',
    smallLabel: 18,
  });
}

// ---- wiring ---------------------------------------------------------------------

function start() {
  $('db-name').textContent = DB_NAME;
  $('ns-name').textContent = 'namespace ' + NAMESPACE;
  $('remember-form').addEventListener('submit', (e) => {
    e.preventDefault();
    remember();
  });
  $('content').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      remember();
    }
  });
  $('recall-form').addEventListener('submit', (e) => {
    e.preventDefault();
    recall();
  });
  $('examples').addEventListener('click', addExamples);
  $('banner-close').addEventListener('click', hideBanner);
  $('retry').addEventListener('click', () => reopen());

  // back in this tab after closing the demo in another: try again by itself
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !state.db && !$('retry').hidden) open();
  });
  // closing releases the database's lock at once for the next page (a reload,
  // another tab); a page restored from the back/forward cache opens it again
  window.addEventListener('pagehide', () => {
    const db = state.db;
    state.db = null;
    state.ns = null;
    if (db) db.close().catch(() => {});
  });
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) open();
  });

  // redraw the graph at the new size when the window changes size
  redrawOnResize($('graph-wrap'), () => {
    if (state.recall) renderGraph();
  });

  open();
}

start();
