// mnemo explorer: a small, dependency-free page over the mnemo HTTP API.
//
// Security notes: every piece of data from the API is put into the page with
// textContent / setAttribute / createTextNode, never with innerHTML; the page
// is served with a strict Content-Security-Policy (no inline script or style),
// so styles are set through CSSOM properties only. The token lives in
// sessionStorage (this tab only) and is sent as `Authorization: Bearer`.
'use strict';

(function () {
  const TOKEN_KEY = 'mnemo.explorer.token';
  const NS_KEY = 'mnemo.explorer.namespace';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const SIGNALS = ['vector', 'keyword', 'activation', 'recency', 'importance', 'time', 'tags'];
  const VIAS = ['link', 'temporal', 'vector', 'keyword'];
  const GRAVITY = 0.5;
  const LABEL_HEIGHT = 13;
  const CHAR_WIDTH = 6.1; // average advance of the 11px label font

  const state = {
    token: '',
    namespace: '',
    recall: null, // the last recall response
    terms: [], // matched terms of the last recall, for highlighting
    contents: new Map(), // memory id -> content, for link labels
    selected: null, // the id of the memory shown in the detail pane
    history: [], // ids shown before the current one (the back button)
    recallSeq: 0,
    detailSeq: 0,
  };

  const $ = (id) => {
    const node = document.getElementById(id);
    if (!node) throw new Error('explorer: missing element #' + id);
    return node;
  };

  // ---- DOM helpers (text only) ----------------------------------------

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

  // ---- errors -------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function showError(err) {
    let text;
    if (err instanceof ApiError) {
      text = err.message + ' (' + err.code + (err.status ? ', HTTP ' + err.status : '') + ')';
    } else {
      text = 'Request failed: ' + (err && err.message ? err.message : String(err));
    }
    $('banner-text').textContent = text;
    $('banner').hidden = false;
  }

  function hideError() {
    $('banner').hidden = true;
    $('banner-text').textContent = '';
  }

  // ---- API ----------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, 'network', 'cannot reach the server: ' + (err && err.message ? err.message : err));
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!response.ok) {
      const e = data && data.error ? data.error : null;
      throw new ApiError(
        response.status,
        e && e.code ? String(e.code) : 'http_' + response.status,
        e && e.message ? String(e.message) : response.statusText || 'request failed',
      );
    }
    if (data === null) throw new ApiError(response.status, 'invalid_response', 'the server sent no JSON');
    return data;
  }

  const nsPath = (ns) => '/v1/namespaces/' + encodeURIComponent(ns);

  // ---- connect & namespaces -----------------------------------------------

  async function connect() {
    hideError();
    state.token = $('token').value.trim();
    try {
      sessionStorage.setItem(TOKEN_KEY, state.token);
    } catch (_) {
      /* storage may be disabled; the token then lives only in this page */
    }
    const select = $('namespace');
    $('status').textContent = 'connecting…';
    try {
      const data = await api('GET', '/v1/namespaces');
      const names = Array.isArray(data.namespaces) ? data.namespaces.map(String) : [];
      clear(select);
      select.appendChild(el('option', { value: '', text: names.length ? 'choose…' : '(no namespaces)' }));
      for (const name of names) select.appendChild(el('option', { value: name, text: name }));
      select.disabled = names.length === 0;
      $('status').textContent = 'connected · ' + names.length + ' namespace' + (names.length === 1 ? '' : 's');
      $('status').className = 'status ok';
      let wanted = '';
      try {
        wanted = sessionStorage.getItem(NS_KEY) || '';
      } catch (_) {
        wanted = '';
      }
      if (!names.includes(wanted)) wanted = names.length === 1 ? names[0] : '';
      select.value = wanted;
      chooseNamespace(wanted);
    } catch (err) {
      $('status').textContent = 'not connected';
      $('status').className = 'status bad';
      select.disabled = true;
      chooseNamespace('');
      showError(err);
    }
  }

  function chooseNamespace(name) {
    state.namespace = name;
    try {
      if (name) sessionStorage.setItem(NS_KEY, name);
    } catch (_) {
      /* ignore */
    }
    $('query').disabled = !name;
    $('search').disabled = !name;
    state.recall = null;
    state.terms = [];
    state.contents.clear();
    state.selected = null;
    state.history = [];
    renderHits();
    renderGraph();
    renderDetailEmpty(name ? 'Click a hit or a node to open a memory.' : 'Pick a namespace.');
    $('summary').textContent = '';
    $('hits-empty').textContent = name
      ? 'Recall something from “' + name + '”.'
      : 'Enter a token, pick a namespace and recall something.';
  }

  // ---- recall ---------------------------------------------------------------

  async function recall() {
    const query = $('query').value.trim();
    if (!state.namespace || !query) return;
    hideError();
    const seq = ++state.recallSeq;
    $('summary').textContent = 'recalling…';
    try {
      const data = await api('POST', nsPath(state.namespace) + '/recall', {
        query,
        k: 20,
        explain: true,
        graph: true,
      });
      if (seq !== state.recallSeq) return;
      state.recall = data;
      const terms = new Set();
      for (const hit of data.hits || []) {
        for (const t of hit.matched_terms || []) terms.add(String(t).toLowerCase());
        if (hit.memory) state.contents.set(hit.memory.id, hit.memory.content);
      }
      for (const node of (data.graph && data.graph.nodes) || []) {
        if (!state.contents.has(node.id)) state.contents.set(node.id, node.content);
      }
      state.terms = [...terms];
      renderSummary(data);
      renderHits();
      renderGraph();
    } catch (err) {
      if (seq !== state.recallSeq) return;
      $('summary').textContent = '';
      showError(err);
    }
  }

  function renderSummary(data) {
    const hits = (data.hits || []).length;
    const t = data.timings_us || {};
    const total = ['embed', 'candidates', 'spread', 'fuse'].reduce((s, k) => s + (Number(t[k]) || 0), 0);
    const parts = [hits + ' hit' + (hits === 1 ? '' : 's')];
    if (typeof data.seeds === 'number') parts.push(data.seeds + ' seeds');
    if (data.complete === false) parts.push('incomplete (budget)');
    if (data.time_hint && (data.time_hint.from || data.time_hint.until)) {
      parts.push('time ' + (data.time_hint.from || '…') + ' → ' + (data.time_hint.until || '…'));
    }
    parts.push((total / 1000).toFixed(1) + ' ms');
    const summary = $('summary');
    clear(summary);
    summary.appendChild(el('span', { text: parts.join(' · ') }));
    if (state.terms.length) {
      summary.appendChild(el('span', { class: 'terms-label', text: ' matched: ' }));
      for (const term of state.terms) summary.appendChild(el('mark', { text: term }));
    }
  }

  /** Contributions as [name, value] pairs, accepting an object or a list of pairs. */
  function contributions(hit) {
    const c = hit.explanation && hit.explanation.contributions;
    if (!c) return [];
    const pairs = Array.isArray(c) ? c.map((p) => (Array.isArray(p) ? p : [p.signal || p.name, p.value])) : Object.entries(c);
    return pairs
      .map(([name, value]) => [String(name), Number(value)])
      .filter(([, value]) => Number.isFinite(value) && value !== 0)
      .sort((a, b) => order(a[0]) - order(b[0]));
  }

  function order(signal) {
    const i = SIGNALS.indexOf(signal);
    return i < 0 ? SIGNALS.length : i;
  }

  function renderHits() {
    const list = $('hits');
    clear(list);
    const hits = (state.recall && state.recall.hits) || [];
    $('hits-empty').hidden = hits.length > 0;
    if (state.recall && hits.length === 0) $('hits-empty').textContent = 'Nothing recalled.';
    let scale = 0;
    for (const hit of hits) for (const [, v] of contributions(hit)) scale = Math.max(scale, Math.abs(v));
    if (scale === 0) scale = 1;

    hits.forEach((hit, index) => {
      const m = hit.memory || {};
      const item = el('li', {
        class: 'hit' + (m.id === state.selected ? ' selected' : ''),
        'data-testid': 'hit',
        'data-id': m.id,
        tabindex: 0,
        role: 'button',
        'aria-label': 'Open memory ' + m.id,
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
      const tags = (m.tags || []).length
        ? el('div', { class: 'tags' }, (m.tags || []).map((t) => el('span', { class: 'tag', text: t })))
        : null;
      item.append(head, content);
      if (tags) item.appendChild(tags);
      item.appendChild(renderSignals(hit, scale));
      item.addEventListener('click', () => openMemory(m.id, true));
      item.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          openMemory(m.id, true);
        }
      });
      list.appendChild(item);
    });
  }

  function renderSignals(hit, scale) {
    const box = el('div', { class: 'signals', 'data-testid': 'signals' });
    const contrib = new Map(contributions(hit));
    const signals = hit.signals || {};
    const names = new Set([...contrib.keys(), ...Object.keys(signals)]);
    for (const name of [...names].sort((a, b) => order(a) - order(b))) {
      const value = contrib.get(name) || 0;
      const sig = signals[name];
      const cell = el('div', { class: 'signal sig-' + (SIGNALS.includes(name) ? name : 'other'), 'data-testid': 'signal-' + name });
      const label = el('div', { class: 'signal-label' }, el('span', { class: 'signal-name', text: name }));
      if (sig && typeof sig.rank === 'number') {
        label.appendChild(el('span', {
          class: 'signal-rank',
          title: name + ' rank ' + sig.rank + ', raw score ' + fmt(sig.score, 3),
          text: '#' + sig.rank,
        }));
      }
      const meter = el('div', { class: 'meter', title: name + ' contribution ' + fmt(value, 3) });
      const bar = el('div', { class: 'meter-fill' });
      bar.style.width = Math.max(0, Math.min(100, (Math.abs(value) / scale) * 100)).toFixed(1) + '%';
      meter.appendChild(bar);
      cell.append(label, meter, el('div', { class: 'signal-value', text: fmt(value, 3) }));
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

  // ---- graph ----------------------------------------------------------------

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
    const order = nodes.map((node, i) => i);
    const priority = (node) => (node.hit ? node.rank || 1e6 : 2e6 + node.id);
    order.sort((a, b) => priority(nodes[a]) - priority(nodes[b]));
    const labels = new Map();
    const h = LABEL_HEIGHT;
    for (const i of order) {
      const node = nodes[i];
      const text = snippet(node.content, small ? 14 : node.hit ? 28 : 20);
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

  function renderGraph() {
    const wrap = $('graph-wrap');
    const old = wrap.querySelector('svg');
    if (old) wrap.removeChild(old);
    const graph = state.recall && state.recall.graph;
    const nodes = (graph && Array.isArray(graph.nodes) && graph.nodes) || [];
    const edges = (graph && Array.isArray(graph.edges) && graph.edges) || [];
    $('graph-empty').hidden = nodes.length > 0;
    $('graph-empty').textContent = state.recall ? 'The recall reached no graph.' : 'No graph yet.';
    if (!nodes.length) return;

    // lay out at the box's real size, so labels keep their size on small screens
    const width = Math.max(320, Math.round(wrap.clientWidth || 760));
    const height = Math.round(Math.max(300, Math.min(480, width * 0.62)));
    const pos = layout(nodes, edges, width, height);
    const at = new Map(nodes.map((node, i) => [node.id, pos[i]]));
    const maxScore = Math.max(1e-9, ...nodes.map((node) => (typeof node.score === 'number' ? node.score : 0)));
    const radius = (node) => (node.hit ? 9 + 9 * Math.sqrt(Math.max(0, node.score || 0) / maxScore) : 6);

    const root = svg('svg', {
      class: 'graph',
      'data-testid': 'graph',
      viewBox: '0 0 ' + width + ' ' + height,
      preserveAspectRatio: 'xMidYMid meet',
      role: 'img',
      'aria-label': 'Activation graph: ' + nodes.length + ' memories, ' + edges.length + ' edges',
    });
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
      const line = svg(
        'line',
        {
          class: 'edge via-' + via,
          'data-testid': 'graph-edge',
          'data-via': String(e.via),
          x1: (a.x + (dx / d) * ra).toFixed(1),
          y1: (a.y + (dy / d) * ra).toFixed(1),
          x2: (b.x - (dx / d) * rb).toFixed(1),
          y2: (b.y - (dy / d) * rb).toFixed(1),
          'marker-end': 'url(#arrow-' + via + ')',
        },
        svg('title', { text: e.from + ' → ' + e.to + ' (' + e.via + ')' }),
      );
      edgeLayer.appendChild(line);
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
            text: String(e.via),
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
        transform: 'translate(' + p.x.toFixed(1) + ' ' + p.y.toFixed(1) + ')',
        tabindex: 0,
        role: 'button',
        'aria-label': 'Open memory ' + node.id,
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
      g.addEventListener('click', () => openMemory(node.id, true));
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          openMemory(node.id, true);
        }
      });
      nodeLayer.appendChild(g);
    });
    root.appendChild(nodeLayer);
    wrap.appendChild(root);
  }

  function markSelected() {
    for (const item of document.querySelectorAll('[data-testid="hit"]')) {
      item.classList.toggle('selected', item.getAttribute('data-id') === String(state.selected));
    }
    for (const node of document.querySelectorAll('[data-testid="graph-node"]')) {
      node.classList.toggle('selected', node.getAttribute('data-id') === String(state.selected));
    }
  }

  // ---- memory detail --------------------------------------------------------

  function renderDetailEmpty(message) {
    const detail = $('detail');
    clear(detail);
    detail.appendChild(el('div', { class: 'empty', text: message }));
  }

  async function openMemory(id, push) {
    if (!state.namespace || id === undefined || id === null) return;
    hideError();
    if (push && state.selected !== null && state.selected !== id) state.history.push(state.selected);
    state.selected = id;
    markSelected();
    const seq = ++state.detailSeq;
    const detail = $('detail');
    detail.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', nsPath(state.namespace) + '/memories/' + encodeURIComponent(id));
      if (seq !== state.detailSeq) return;
      if (data.memory) state.contents.set(data.memory.id, data.memory.content);
      await fetchLinkContents(data, seq);
      if (seq !== state.detailSeq) return;
      renderDetail(data);
      revealDetail();
    } catch (err) {
      if (seq !== state.detailSeq) return;
      renderDetailEmpty('Could not open memory ' + id + '.');
      showError(err);
    } finally {
      if (seq === state.detailSeq) detail.removeAttribute('aria-busy');
    }
  }

  /** Brings the top of the memory card into view after opening a memory. */
  function revealDetail() {
    const card = $('detail').closest('.card');
    if (!card) return;
    if (window.matchMedia('(max-width: 900px)').matches) {
      // one column: the detail is below the hits
      card.scrollIntoView({ block: 'start' });
      return;
    }
    // two columns: the right pane scrolls by itself when taller than the window
    const pane = card.parentElement;
    if (!pane || pane.scrollHeight <= pane.clientHeight) return;
    const top = card.getBoundingClientRect().top - pane.getBoundingClientRect().top + pane.scrollTop;
    if (top < pane.scrollTop || top + 160 > pane.scrollTop + pane.clientHeight) {
      pane.scrollTo({ top: Math.max(0, top - 8) });
    }
  }

  /** Loads the contents of linked memories not seen yet (a few, for labels). */
  async function fetchLinkContents(data, seq) {
    const links = data.links || {};
    const ids = [];
    for (const l of links.outgoing || []) ids.push(l.to);
    for (const l of links.incoming || []) ids.push(l.from);
    const missing = [...new Set(ids)].filter((i) => !state.contents.has(i)).slice(0, 16);
    await Promise.all(
      missing.map(async (i) => {
        try {
          const m = await api('GET', nsPath(state.namespace) + '/memories/' + encodeURIComponent(i));
          if (seq === state.detailSeq && m.memory) state.contents.set(i, m.memory.content);
        } catch (_) {
          /* a label only: the link is listed by id */
        }
      }),
    );
  }

  function renderDetail(data) {
    const m = data.memory || {};
    const detail = $('detail');
    clear(detail);

    const head = el(
      'div',
      { class: 'detail-head' },
      state.history.length
        ? el('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'detail-back', text: '← back' })
        : null,
      el('h3', { 'data-testid': 'detail-id', text: 'memory ' + m.id }),
      m.kind ? el('span', { class: 'badge', text: m.kind }) : null,
      m.key ? el('span', { class: 'key', title: 'key', text: m.key }) : null,
    );
    const back = head.querySelector('[data-testid="detail-back"]');
    if (back) {
      back.addEventListener('click', () => {
        const prev = state.history.pop();
        if (prev !== undefined) openMemory(prev, false);
      });
    }
    detail.appendChild(head);

    const content = el('div', { class: 'detail-content', 'data-testid': 'detail-content' });
    highlight(content, m.content || '', state.terms);
    detail.appendChild(content);

    if ((m.tags || []).length) {
      detail.appendChild(el('div', { class: 'tags', 'data-testid': 'detail-tags' }, m.tags.map((t) => el('span', { class: 'tag', text: t }))));
    }

    const links = data.links || {};
    const outgoing = links.outgoing || [];
    const incoming = links.incoming || [];
    detail.appendChild(el('h4', { text: 'Links' }));
    const list = el('ul', { class: 'links', 'data-testid': 'detail-links' });
    for (const l of outgoing) list.appendChild(linkItem(l, 'out', l.to));
    for (const l of incoming) list.appendChild(linkItem(l, 'in', l.from));
    if (!outgoing.length && !incoming.length) list.appendChild(el('li', { class: 'muted', text: 'No links.' }));
    detail.appendChild(list);

    const cited = Array.isArray(data.facts) ? data.facts : [];
    detail.appendChild(el('h4', { text: 'Facts citing it' }));
    const flist = el('ul', { class: 'facts', 'data-testid': 'detail-facts' });
    for (const f of cited) flist.appendChild(factItem(f));
    if (!cited.length) flist.appendChild(el('li', { class: 'muted', text: 'No facts cite this memory.' }));
    detail.appendChild(flist);

    const rows = [];
    const row = (name, value) => {
      if (value === undefined || value === null || value === '') return;
      rows.push(el('dt', { text: name }), el('dd', { text: String(value) }));
    };
    row('source', m.source);
    row('at', m.at);
    row('recorded', m.recorded);
    if (m.valid) row('valid', (m.valid.from || '−∞') + ' → ' + (m.valid.until || 'now'));
    row('importance', typeof m.importance === 'number' ? fmt(m.importance, 2) : null);
    row('confidence', typeof m.confidence === 'number' ? fmt(m.confidence, 2) : null);
    if (m.created_seq !== undefined) row('log seq', m.created_seq + (m.updated_seq !== m.created_seq ? ' → ' + m.updated_seq : ''));
    detail.appendChild(el('h4', { text: 'Properties' }));
    detail.appendChild(el('dl', { class: 'props', 'data-testid': 'detail-props' }, rows));

    const meta = m.metadata && typeof m.metadata === 'object' ? Object.entries(m.metadata) : [];
    if (meta.length) {
      detail.appendChild(el('h4', { text: 'Metadata' }));
      const table = el('table', { class: 'meta', 'data-testid': 'detail-metadata' });
      for (const [k, v] of meta) table.appendChild(el('tr', null, el('th', { text: k }), el('td', { text: JSON.stringify(v) })));
      detail.appendChild(table);
    }
  }

  function linkItem(link, direction, other) {
    const button = el(
      'button',
      { type: 'button', class: 'link-open', 'data-testid': 'link', 'data-id': other, 'data-direction': direction },
      el('span', { class: 'link-dir', text: direction === 'out' ? '→' : '←' }),
      el('span', { class: 'link-kind', text: link.kind }),
      el('span', { class: 'link-id', text: '#' + other }),
      el('span', { class: 'link-text', text: snippet(state.contents.get(other) || '', 90) }),
      el('span', { class: 'link-weight', title: 'weight', text: fmt(link.weight, 2) }),
    );
    button.addEventListener('click', () => openMemory(other, true));
    return el('li', null, button);
  }

  function factItem(f) {
    const triple = [f.subject, f.predicate, f.object].filter((x) => x !== undefined && x !== null).join(' · ');
    return el(
      'li',
      { 'data-testid': 'fact' },
      el('span', { class: 'fact-text', text: triple || JSON.stringify(f) }),
      f.status ? el('span', { class: 'badge', text: String(f.status) }) : null,
      typeof f.confidence === 'number' ? el('span', { class: 'muted', text: ' confidence ' + fmt(f.confidence, 2) }) : null,
    );
  }

  // ---- wiring ---------------------------------------------------------------

  function start() {
    $('connect-form').addEventListener('submit', (e) => {
      e.preventDefault();
      connect();
    });
    $('namespace').addEventListener('change', (e) => {
      hideError();
      chooseNamespace(e.target.value);
    });
    $('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      recall();
    });
    $('banner-close').addEventListener('click', hideError);
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
    let saved = '';
    try {
      saved = sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (_) {
      saved = '';
    }
    if (saved) {
      $('token').value = saved;
      connect();
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
