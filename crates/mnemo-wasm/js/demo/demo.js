// mnemo in-browser demo: the `mnemo` package driven from a static page.
//
// The engine runs in the package's dedicated Worker and keeps its data in
// OPFS (IndexedDB where OPFS is missing); nothing talks to a server. The
// look and the graph drawing are the memory explorer's
// (crates/mnemo-server/explorer/).
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
const SVG_NS = 'http://www.w3.org/2000/svg';
const SIGNALS = ['vector', 'keyword', 'activation', 'recency', 'importance', 'time', 'tags'];
const VIAS = ['link', 'temporal', 'vector', 'keyword'];
const GRAVITY = 0.5;
const LABEL_HEIGHT = 13;
const CHAR_WIDTH = 6.1; // average advance of the 11px label font

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

// ---- DOM helpers (text only) -------------------------------------------

/** Creates an element; `attrs` are set with setAttribute (`text` sets textContent). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** Creates an SVG element. */
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function snippet(text, max) {
  const flat = String(text || '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1).trimEnd() + '…' : flat;
}

function fmt(x, digits) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';
}

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
    item.addEventListener('click', () => select(m.id, false));
    item.addEventListener('keydown', (e) => {
      if (e.target === item && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        select(m.id, false);
      }
    });
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
  const summary = $('summary');
  clear(summary);
  summary.appendChild(el('span', { text: parts.join(' · ') }));
  if (state.terms.length) {
    summary.appendChild(el('span', { class: 'terms-label', text: ' matched: ' }));
    for (const term of state.terms) summary.appendChild(el('mark', { text: term }));
  }
}

function order(signal) {
  const i = SIGNALS.indexOf(signal);
  return i < 0 ? SIGNALS.length : i;
}

/**
 * Each signal's share of the hit's score, as [name, value] pairs: the
 * explanation's contributions (a recall with `graph` is explained), else
 * the signals' own normalized scores.
 */
function contributions(hit) {
  const c = hit.explanation && hit.explanation.contributions;
  let pairs;
  if (c) {
    pairs = Array.isArray(c) ? c.map((p) => (Array.isArray(p) ? p : [p.signal || p.name, p.value])) : Object.entries(c);
  } else {
    pairs = Object.entries(hit.signals || {}).map(([name, s]) => [name, s && (s.normalized ?? s.score)]);
  }
  return pairs
    .map(([name, value]) => [String(name), Number(value)])
    .filter(([, value]) => Number.isFinite(value) && value !== 0)
    .sort((a, b) => order(a[0]) - order(b[0]));
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

  hits.forEach((hit, index) => {
    const m = hit.memory || {};
    const item = el('li', {
      class: 'hit' + (m.id === state.selected ? ' selected' : ''),
      'data-testid': 'hit',
      'data-id': m.id,
      'data-score': hit.score,
      tabindex: 0,
      role: 'button',
      'aria-label': 'Select memory ' + m.id,
    });
    const head = el(
      'div',
      { class: 'hit-head' },
      el('span', { class: 'hit-rank', text: '#' + (index + 1) }),
      el('span', { class: 'hit-id', text: 'memory ' + m.id }),
      m.kind ? el('span', { class: 'badge', text: m.kind }) : null,
      el('span', { class: 'hit-score', 'data-testid': 'hit-score', title: 'fused score', text: fmt(hit.score, 3) }),
    );
    const content = el('div', { class: 'hit-content', 'data-testid': 'hit-content' });
    highlight(content, m.content || '', state.terms);
    item.append(head, content);
    if ((m.tags || []).length) {
      item.appendChild(el('div', { class: 'tags' }, m.tags.map((t) => el('span', { class: 'tag', text: t }))));
    }
    item.appendChild(renderScoreStack(hit, top));
    item.appendChild(renderSignals(hit, scale));
    item.addEventListener('click', () => select(m.id, true));
    item.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        select(m.id, true);
      }
    });
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
    const part = el('div', { class: 'score-part sig-' + (SIGNALS.includes(name) ? name : 'other') });
    part.style.width = Math.max(0, Math.min(100, (Math.abs(value) / top) * 100)).toFixed(1) + '%';
    stack.appendChild(part);
  }
  return stack;
}

function renderSignals(hit, scale) {
  const box = el('div', { class: 'signals', 'data-testid': 'signals' });
  const contrib = new Map(contributions(hit));
  const signals = hit.signals || {};
  const names = new Set([...contrib.keys(), ...Object.keys(signals)]);
  for (const name of [...names].sort((a, b) => order(a) - order(b))) {
    const value = contrib.get(name) || 0;
    const sig = signals[name];
    const cell = el('div', {
      class: 'signal sig-' + (SIGNALS.includes(name) ? name : 'other') + (value === 0 ? ' absent' : ''),
      'data-testid': 'signal-' + name,
      'data-rank': sig && typeof sig.rank === 'number' ? sig.rank : undefined,
      'data-score': sig && typeof sig.score === 'number' ? sig.score : undefined,
      'data-contribution': value,
    });
    const label = el('div', { class: 'signal-label' }, el('span', { class: 'signal-name', text: name }));
    if (sig && typeof sig.rank === 'number') {
      label.appendChild(el('span', {
        class: 'signal-rank',
        title: name + ' rank ' + sig.rank + ', raw score ' + fmt(sig.score, 3),
        text: '#' + sig.rank,
      }));
    }
    const meter = el('div', { class: 'meter', title: name + ': share of the score ' + fmt(value, 3) + (sig ? ', raw score ' + fmt(sig.score, 3) : '') });
    const bar = el('div', { class: 'meter-fill' });
    bar.style.width = Math.max(0, Math.min(100, (Math.abs(value) / scale) * 100)).toFixed(1) + '%';
    meter.appendChild(bar);
    const shown = el('div', { class: 'signal-value' }, el('span', { title: 'share of the score', text: fmt(value, 3) }));
    if (sig && typeof sig.score === 'number') {
      shown.appendChild(el('span', { class: 'signal-raw', title: name + "'s own score", text: 'raw ' + fmt(sig.score, 2) }));
    }
    cell.append(label, meter, shown);
    box.appendChild(cell);
  }
  return box;
}

/** Appends `text` to `node`, wrapping words that match a recalled term in <mark>. */
function highlight(node, text, terms) {
  if (!terms.length) {
    node.appendChild(document.createTextNode(text));
    return;
  }
  // Terms are stemmed and lowercased (`connect` for "connection"): a word
  // matches when it equals a term or, for terms of 3+ letters, starts with it.
  const re = /[\p{L}\p{N}_]+/gu;
  let last = 0;
  let match;
  while ((match = re.exec(text)) !== null) {
    const word = match[0].toLowerCase();
    const hit = terms.some((t) => word === t || (t.length >= 3 && word.startsWith(t)));
    if (!hit) continue;
    if (match.index > last) node.appendChild(document.createTextNode(text.slice(last, match.index)));
    node.appendChild(el('mark', { text: match[0] }));
    last = match.index + match[0].length;
  }
  if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
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

// ---- graph (the explorer's layout and drawing) --------------------------------

/**
 * A deterministic layout: hits on an inner ring by rank, reached nodes on an
 * outer ring next to their neighbours, then a few hundred steps of a
 * Fruchterman–Reingold force simulation with a cooling schedule. No
 * randomness, so one recall always draws the same picture.
 */
function layout(nodes, edges, width, height) {
  const n = nodes.length;
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const links = edges
    .map((e) => [index.get(e.from), index.get(e.to)])
    .filter(([a, b]) => a !== undefined && b !== undefined && a !== b);
  const neighbours = nodes.map(() => []);
  for (const [a, b] of links) {
    neighbours[a].push(b);
    neighbours[b].push(a);
  }
  const pos = nodes.map(() => ({ x: 0, y: 0 }));
  const hits = nodes.map((node, i) => i).filter((i) => nodes[i].hit);
  hits.sort((a, b) => (nodes[a].rank || 1e9) - (nodes[b].rank || 1e9) || nodes[a].id - nodes[b].id);
  const r1 = Math.min(width, height) * 0.28;
  const r2 = Math.min(width, height) * 0.46;
  const angle = new Array(n).fill(null);
  hits.forEach((i, k) => {
    const a = (2 * Math.PI * k) / Math.max(1, hits.length) - Math.PI / 2;
    angle[i] = a;
    const r = hits.length === 1 ? 0 : r1 * (0.55 + 0.45 * (k / Math.max(1, hits.length - 1)));
    pos[i] = { x: Math.cos(a) * r, y: Math.sin(a) * r };
  });
  const rest = nodes.map((node, i) => i).filter((i) => !nodes[i].hit);
  rest.forEach((i, k) => {
    const placed = neighbours[i].filter((j) => angle[j] !== null);
    let a;
    if (placed.length) {
      const sx = placed.reduce((s, j) => s + Math.cos(angle[j]), 0);
      const sy = placed.reduce((s, j) => s + Math.sin(angle[j]), 0);
      a = Math.atan2(sy, sx) + ((k % 5) - 2) * 0.09;
    } else {
      a = (2 * Math.PI * k) / Math.max(1, rest.length);
    }
    angle[i] = a;
    pos[i] = { x: Math.cos(a) * r2, y: Math.sin(a) * r2 };
  });

  const area = width * height;
  const kk = Math.sqrt(area / Math.max(1, n)) * 0.75;
  let temperature = Math.min(width, height) / 8;
  const steps = 300;
  for (let step = 0; step < steps; step++) {
    const disp = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pos[i].x - pos[j].x;
        let dy = pos[i].y - pos[j].y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 0.01) {
          // coincident: push apart along a direction fixed by the indices
          const a = ((i * 7 + j * 13) % 360) * (Math.PI / 180);
          dx = Math.cos(a) * 0.1;
          dy = Math.sin(a) * 0.1;
          d2 = 0.01;
        }
        const d = Math.sqrt(d2);
        // repulsion has a range, so separate clusters do not drift apart
        if (d > 3 * kk) continue;
        const f = (kk * kk) / d;
        disp[i].x += (dx / d) * f;
        disp[i].y += (dy / d) * f;
        disp[j].x -= (dx / d) * f;
        disp[j].y -= (dy / d) * f;
      }
    }
    for (const [a, b] of links) {
      const dx = pos[a].x - pos[b].x;
      const dy = pos[a].y - pos[b].y;
      const d = Math.max(0.1, Math.sqrt(dx * dx + dy * dy));
      const f = (d * d) / kk;
      disp[a].x -= (dx / d) * f;
      disp[a].y -= (dy / d) * f;
      disp[b].x += (dx / d) * f;
      disp[b].y += (dy / d) * f;
    }
    for (let i = 0; i < n; i++) {
      // gravity keeps disconnected parts together; hits are pulled harder
      const g = nodes[i].hit ? GRAVITY : GRAVITY / 2;
      disp[i].x -= pos[i].x * g;
      disp[i].y -= pos[i].y * g;
      const d = Math.sqrt(disp[i].x * disp[i].x + disp[i].y * disp[i].y);
      if (d > 0) {
        const m = Math.min(d, temperature);
        pos[i].x += (disp[i].x / d) * m;
        pos[i].y += (disp[i].y / d) * m;
      }
    }
    temperature *= 0.985;
  }

  // fit into the box
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const p of pos) {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
  }
  // room at the sides for the labels, which point outwards
  const padX = Math.min(120, width * 0.15);
  const padY = 28;
  const spanX = Math.max(1, maxX - minX);
  const spanY = Math.max(1, maxY - minY);
  const s = Math.min((width - 2 * padX) / spanX, (height - 2 * padY) / spanY, 3);
  const ox = width / 2 - ((minX + maxX) / 2) * s;
  const oy = height / 2 - ((minY + maxY) / 2) * s;
  return pos.map((p) => ({ x: p.x * s + ox, y: p.y * s + oy }));
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Greedy label placement: the best hits first, each label to the outer
 * side of its node, else the inner side, below or above, wherever it
 * overlaps no node and no label placed before; otherwise no label (the
 * node's tooltip still has the text). Adds the placed boxes to `obstacles`.
 */
function placeLabels(nodes, pos, radiusOf, width, height, obstacles) {
  const small = width < 560;
  const ordered = nodes.map((node, i) => i);
  const priority = (node) => (node.hit ? node.rank || 1e6 : 2e6 + node.id);
  ordered.sort((a, b) => priority(nodes[a]) - priority(nodes[b]));
  const labels = new Map();
  const h = LABEL_HEIGHT;
  for (const i of ordered) {
    const node = nodes[i];
    const text = snippet(node.content, small ? 18 : node.hit ? 28 : 20);
    if (!text) continue;
    const w = text.length * CHAR_WIDTH;
    const { x, y } = pos[i];
    const r = radiusOf.get(node.id);
    const right = { dx: r + 4, dy: 0, anchor: 'start', box: { x: x + r + 4, y: y - h / 2, w, h } };
    const left = { dx: -(r + 4), dy: 0, anchor: 'end', box: { x: x - r - 4 - w, y: y - h / 2, w, h } };
    const below = { dx: 0, dy: r + 3 + h / 2, anchor: 'middle', box: { x: x - w / 2, y: y + r + 3, w, h } };
    const above = { dx: 0, dy: -(r + 3 + h / 2), anchor: 'middle', box: { x: x - w / 2, y: y - r - 3 - h, w, h } };
    const candidates = x >= width / 2 ? [right, left, below, above] : [left, right, below, above];
    const fits = (c) =>
      c.box.x >= 2 && c.box.y >= 2 && c.box.x + c.box.w <= width - 2 && c.box.y + c.box.h <= height - 2 &&
      !obstacles.some((o) => overlaps(o, c.box));
    const chosen = candidates.find(fits);
    if (!chosen) continue;
    obstacles.push(chosen.box);
    labels.set(node.id, { dx: chosen.dx, dy: chosen.dy, anchor: chosen.anchor, text });
  }
  return labels;
}

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
  const pos = layout(nodes, edges, width, height);
  const at = new Map(nodes.map((node, i) => [node.id, pos[i]]));
  const maxScore = Math.max(1e-9, ...nodes.map((node) => (typeof node.score === 'number' ? node.score : 0)));
  const radius = (node) => (node.hit ? 9 + 9 * Math.sqrt(Math.max(0, node.score || 0) / maxScore) : 6);

  root.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  root.setAttribute('preserveAspectRatio', 'xMidYMid meet');
  root.setAttribute('aria-label', 'Activation graph: ' + plural(nodes.length, 'memory', 'memories') + ', ' + plural(edges.length, 'edge'));

  const defs = svg('defs');
  for (const via of VIAS.concat('other')) {
    defs.appendChild(
      svg(
        'marker',
        {
          id: 'arrow-' + via,
          class: 'arrow via-' + via,
          viewBox: '0 0 10 10',
          refX: 10,
          refY: 5,
          markerWidth: 6,
          markerHeight: 6,
          orient: 'auto-start-reverse',
        },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }),
      ),
    );
  }
  root.appendChild(defs);

  const radiusOf = new Map(nodes.map((node) => [node.id, radius(node)]));
  const obstacles = nodes.map((node, i) => {
    const r = radiusOf.get(node.id) + 2;
    return { x: pos[i].x - r, y: pos[i].y - r, w: 2 * r, h: 2 * r };
  });
  const labels = placeLabels(nodes, pos, radiusOf, width, height, obstacles);

  const edgeLayer = svg('g', { class: 'edges' });
  edges.forEach((e) => {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) return;
    const via = VIAS.includes(e.via) ? e.via : 'other';
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const d = Math.max(1, Math.sqrt(dx * dx + dy * dy));
    const ra = radiusOf.get(e.from) || 6;
    const rb = (radiusOf.get(e.to) || 6) + 2;
    edgeLayer.appendChild(
      svg(
        'line',
        {
          class: 'edge via-' + via,
          'data-testid': 'graph-edge',
          'data-from': e.from,
          'data-to': e.to,
          'data-via': String(e.via),
          x1: (a.x + (dx / d) * ra).toFixed(1),
          y1: (a.y + (dy / d) * ra).toFixed(1),
          x2: (b.x - (dx / d) * rb).toFixed(1),
          y2: (b.y - (dy / d) * rb).toFixed(1),
          'marker-end': 'url(#arrow-' + via + ')',
        },
        svg('title', { text: e.from + ' → ' + e.to + ' (' + e.via + ')' }),
      ),
    );
    // the edge kind as a small label at the middle of long enough edges,
    // where it hides no node and no label
    const text = String(e.via);
    const box = {
      x: (a.x + b.x) / 2 - (text.length * 5.6) / 2,
      y: (a.y + b.y) / 2 - 12,
      w: text.length * 5.6,
      h: 11,
    };
    if (d > 70 && !obstacles.some((o) => overlaps(o, box))) {
      obstacles.push(box);
      edgeLayer.appendChild(
        svg('text', {
          class: 'edge-label via-' + via,
          x: ((a.x + b.x) / 2).toFixed(1),
          y: ((a.y + b.y) / 2 - 3).toFixed(1),
          'text-anchor': 'middle',
          text,
        }),
      );
    }
  });
  root.appendChild(edgeLayer);

  const nodeLayer = svg('g', { class: 'nodes' });
  nodes.forEach((node, i) => {
    const p = pos[i];
    const r = radius(node);
    const g = svg('g', {
      class:
        'node ' +
        (node.hit ? 'node-hit' : 'node-reached') +
        (node.seed ? ' node-seed' : '') +
        (node.id === state.selected ? ' selected' : ''),
      'data-testid': 'graph-node',
      'data-id': node.id,
      'data-hit': node.hit ? 'true' : 'false',
      'data-seed': node.seed ? 'true' : 'false',
      transform: 'translate(' + p.x.toFixed(1) + ' ' + p.y.toFixed(1) + ')',
      tabindex: 0,
      role: 'button',
      'aria-label': 'Select memory ' + node.id,
    });
    g.appendChild(
      svg('title', {
        text:
          'memory ' + node.id +
          (node.hit ? ' · hit #' + node.rank + ' · score ' + fmt(node.score, 3) : ' · reached by activation') +
          (node.seed ? ' · seed' : '') +
          '\n' + snippet(node.content, 240),
      }),
    );
    if (node.seed) g.appendChild(svg('circle', { class: 'seed-ring', r: (r + 4).toFixed(1) }));
    g.appendChild(svg('circle', { class: 'node-dot', r: r.toFixed(1) }));
    if (node.hit && typeof node.rank === 'number') {
      g.appendChild(svg('text', { class: 'node-rank', 'text-anchor': 'middle', dy: '0.35em', text: String(node.rank) }));
    }
    const label = labels.get(node.id);
    if (label) {
      g.appendChild(
        svg('text', {
          class: 'node-label',
          x: label.dx.toFixed(1),
          y: label.dy.toFixed(1),
          dy: '0.35em',
          'text-anchor': label.anchor,
          text: label.text,
        }),
      );
    }
    g.addEventListener('click', () => select(node.id, true));
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        select(node.id, true);
      }
    });
    nodeLayer.appendChild(g);
  });
  root.appendChild(nodeLayer);
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
  let resizeTimer = 0;
  let lastWidth = $('graph-wrap').clientWidth;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      const w = $('graph-wrap').clientWidth;
      if (w !== lastWidth && state.recall) renderGraph();
      lastWidth = w;
    }, 150);
  });

  open();
}

start();
