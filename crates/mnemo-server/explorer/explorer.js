// mnemo explorer: a small, dependency-free page over the mnemo HTTP API.
// The DOM helpers, signal bars and graph drawing come from viz.js (the
// global `MnemoViz`, loaded first), which the npm package's demo page shares.
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
  const { el, svg, clear, snippet, fmt, highlight, contributions, hitItem, showSummary, signalBars, drawGraph, redrawOnResize } =
    globalThis.MnemoViz;

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
    showSummary($('summary'), parts, state.terms);
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

    const options = { selected: state.selected, action: 'Open memory', onSelect: (id) => openMemory(id, true) };
    hits.forEach((hit, index) => {
      const item = hitItem(hit, index, state.terms, options);
      item.appendChild(signalBars(hit, contributions(hit), scale));
      list.appendChild(item);
    });
  }

  // ---- graph ----------------------------------------------------------------

  /** Draws the last recall's activation graph into a new svg.graph in #graph-wrap. */
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
    const root = svg('svg', {
      class: 'graph',
      'data-testid': 'graph',
      role: 'img',
      'aria-label': 'Activation graph: ' + nodes.length + ' memories, ' + edges.length + ' edges',
    });
    drawGraph(root, nodes, edges, {
      width,
      height,
      selected: state.selected,
      onSelect: (id) => openMemory(id, true),
      action: 'Open memory',
      smallLabel: 14,
    });
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

  /** Loads the contents of linked (and repeated) memories not seen yet (a few, for labels). */
  async function fetchLinkContents(data, seq) {
    const links = data.links || {};
    const ids = [];
    for (const l of links.outgoing || []) ids.push(l.to);
    for (const l of links.incoming || []) ids.push(l.from);
    if (data.duplicate_of && data.duplicate_of.id !== undefined) ids.push(data.duplicate_of.id);
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

    // A consolidated memory links `derived_from` to each memory it summarises.
    const sources = outgoing.filter((l) => l.kind === 'derived_from');
    detail.appendChild(el('h4', { text: 'Provenance' }));
    const plist = el('ul', { class: 'links', 'data-testid': 'detail-provenance' });
    for (const l of sources) plist.appendChild(el('li', null, memoryButton(l.to, 'provenance')));
    if (!sources.length) plist.appendChild(el('li', { class: 'muted', text: 'Not derived from other memories.' }));
    detail.appendChild(plist);

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
    // Its use and lifecycle (see the server's [lifecycle] config).
    row('strength', typeof data.strength === 'number' ? fmt(data.strength, 3) : null);
    row('touches', typeof data.touches === 'number' ? data.touches : null);
    row('tier', data.tier);
    row('expires', data.expires_at || (data.expires_at === null ? 'never' : null));
    const dup = data.duplicate_of;
    if (dup && dup.id !== undefined) {
      rows.push(
        el('dt', { text: 'duplicate of' }),
        el(
          'dd',
          { 'data-testid': 'detail-duplicate-of' },
          memoryButton(dup.id, 'duplicate-of'),
          el('span', { class: 'muted', text: ' vector ' + fmt(dup.vector_similarity, 2) + ', text ' + fmt(dup.text_similarity, 2) }),
        ),
      );
    }
    const merged = data.merged;
    if (merged && typeof merged.count === 'number') {
      const recent = Array.isArray(merged.recent) ? merged.recent : [];
      const latest = recent.length ? recent[recent.length - 1] : null;
      row('merged writes', merged.count + (latest ? ' (latest: ' + (latest.source || 'no source') + ', ' + latest.at + ')' : ''));
    }
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

  /** A button that opens memory `id` (its id and, when known, a snippet). */
  function memoryButton(id, testid) {
    const button = el(
      'button',
      { type: 'button', class: 'link-open', 'data-testid': testid, 'data-id': id },
      el('span', { class: 'link-id', text: '#' + id }),
      el('span', { class: 'link-text', text: snippet(state.contents.get(id) || '', 90) }),
    );
    button.addEventListener('click', () => openMemory(id, true));
    return button;
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
    redrawOnResize($('graph-wrap'), () => {
      if (state.recall) renderGraph();
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
