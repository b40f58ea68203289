// mnemo viz: the drawing shared by the memory explorer (this folder) and the
// npm package's demo page (crates/mnemo-wasm/js/demo/, which loads a copy
// made by scripts/build-npm as demo/viz.js): DOM helpers, a hit's signal
// bars and the activation graph (layout, SVG drawing, resize).
//
// A classic script with no imports or exports, so the explorer can keep
// classic scripts under its strict Content-Security-Policy: it defines one
// global, `MnemoViz`, and reads nothing from the pages. What differs between
// them (element ids, wording, what a click does) comes in as parameters.
//
// Every piece of data goes into the page with textContent / setAttribute,
// never innerHTML, and styles are set through CSSOM properties only.
'use strict';

(function () {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  /** The recall signals, in the order their bars are shown. */
  const SIGNALS = ['vector', 'keyword', 'activation', 'recency', 'importance', 'time', 'tags', 'answer_type', 'strength'];
  /** The kinds of graph edges with their own colour (`via-…` classes). */
  const VIAS = ['link', 'temporal', 'vector', 'keyword'];
  const GRAVITY = 0.5;
  const LABEL_HEIGHT = 13;
  const CHAR_WIDTH = 6.1; // average advance of the 11px label font

  // ---- DOM helpers (text only) ----------------------------------------

  /** Creates an element; `attrs` are set with setAttribute (`text` sets textContent). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  /** Creates an SVG element, like `el`. */
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

  /** Removes all of `node`'s children. */
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** `text` on one line, cut to `max` characters with an ellipsis. */
  function snippet(text, max) {
    const flat = String(text || '').replace(/\s+/g, ' ').trim();
    return flat.length > max ? flat.slice(0, max - 1).trimEnd() + '…' : flat;
  }

  /** A number with `digits` decimals, or a dash for anything else. */
  function fmt(x, digits) {
    return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';
  }

  /**
   * Calls `action` when `node` is clicked, or focused and Enter or Space is
   * pressed on it (not on a control inside it).
   */
  function onActivate(node, action) {
    node.addEventListener('click', action);
    node.addEventListener('keydown', (e) => {
      if (e.target === node && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        action();
      }
    });
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

  // ---- hits -------------------------------------------------------------

  /** A signal's place in SIGNALS (unknown signals last). */
  function signalOrder(signal) {
    const i = SIGNALS.indexOf(signal);
    return i < 0 ? SIGNALS.length : i;
  }

  /** The `sig-…` class of a signal (`sig-other` for an unknown one). */
  function signalClass(name) {
    return 'sig-' + (SIGNALS.includes(name) ? name : 'other');
  }

  /**
   * Each signal's share of the hit's score, as [name, value] pairs in
   * SIGNALS order, leaving out zeros: the explanation's contributions (an
   * object or a list of pairs). Without an explanation, none, or with
   * `orSignals` the signals' own normalized scores.
   */
  function contributions(hit, orSignals) {
    const c = hit.explanation && hit.explanation.contributions;
    let pairs;
    if (c) {
      pairs = Array.isArray(c) ? c.map((p) => (Array.isArray(p) ? p : [p.signal || p.name, p.value])) : Object.entries(c);
    } else if (orSignals) {
      pairs = Object.entries(hit.signals || {}).map(([name, s]) => [name, s && (s.normalized ?? s.score)]);
    } else {
      pairs = [];
    }
    return pairs
      .map(([name, value]) => [String(name), Number(value)])
      .filter(([, value]) => Number.isFinite(value) && value !== 0)
      .sort((a, b) => signalOrder(a[0]) - signalOrder(b[0]));
  }

  /**
   * The list item of a hit (`li.hit[data-testid=hit][data-id]`, at `index`
   * in the list): its rank, id, kind and score, its content with the
   * recalled `terms` marked, and its tags. Options: `selected`, the id of
   * the selected memory; `action`, the start of its aria-label (`'Open
   * memory'` → "Open memory 7"); `onSelect(id)`, called when it is clicked
   * or activated with the keyboard. The page appends the signal bars.
   */
  function hitItem(hit, index, terms, { selected, action, onSelect }) {
    const m = hit.memory || {};
    const item = el('li', {
      class: 'hit' + (m.id === selected ? ' selected' : ''),
      'data-testid': 'hit',
      'data-id': m.id,
      'data-score': hit.score,
      tabindex: 0,
      role: 'button',
      'aria-label': action + ' ' + m.id,
    });
    const head = el(
      'div',
      { class: 'hit-head' },
      el('span', { class: 'hit-rank', text: '#' + (index + 1) }),
      el('span', { class: 'hit-id', text: 'memory ' + m.id }),
      m.kind ? el('span', { class: 'badge', text: m.kind }) : null,
      // which tier answered: hot, warm or cold
      hit.tier ? el('span', { class: 'badge', 'data-testid': 'hit-tier', title: 'tier', text: hit.tier }) : null,
      el('span', { class: 'hit-score', 'data-testid': 'hit-score', title: 'fused score', text: fmt(hit.score, 3) }),
    );
    const content = el('div', { class: 'hit-content', 'data-testid': 'hit-content' });
    highlight(content, m.content || '', terms);
    item.append(head, content);
    if ((m.tags || []).length) {
      item.appendChild(el('div', { class: 'tags' }, m.tags.map((t) => el('span', { class: 'tag', text: t }))));
    }
    onActivate(item, () => onSelect(m.id));
    return item;
  }

  /**
   * Fills `node` (the recall summary) with `parts` joined by " · " and the
   * matched `terms`, each in a <mark>.
   */
  function showSummary(node, parts, terms) {
    clear(node);
    node.appendChild(el('span', { text: parts.join(' · ') }));
    if (terms.length) {
      node.appendChild(el('span', { class: 'terms-label', text: ' matched: ' }));
      for (const term of terms) node.appendChild(el('mark', { text: term }));
    }
  }

  /**
   * A hit's signal bars (`div.signals`): one cell per signal that
   * contributed or ranked it, with its rank, a bar of its share `value`
   * (from `pairs`, the hit's contributions) against `scale` and the share.
   * With `raw`, the cells also show each signal's own (raw) score.
   */
  function signalBars(hit, pairs, scale, { raw = false } = {}) {
    const box = el('div', { class: 'signals', 'data-testid': 'signals' });
    const contrib = new Map(pairs);
    const signals = hit.signals || {};
    const names = new Set([...contrib.keys(), ...Object.keys(signals)]);
    for (const name of [...names].sort((a, b) => signalOrder(a) - signalOrder(b))) {
      const value = contrib.get(name) || 0;
      const sig = signals[name];
      const cell = el('div', {
        class: 'signal ' + signalClass(name) + (value === 0 ? ' absent' : ''),
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
      const meter = el('div', {
        class: 'meter',
        title: raw
          ? name + ': share of the score ' + fmt(value, 3) + (sig ? ', raw score ' + fmt(sig.score, 3) : '')
          : name + ' contribution ' + fmt(value, 3),
      });
      const bar = el('div', { class: 'meter-fill' });
      bar.style.width = Math.max(0, Math.min(100, (Math.abs(value) / scale) * 100)).toFixed(1) + '%';
      meter.appendChild(bar);
      let shown;
      if (raw) {
        shown = el('div', { class: 'signal-value' }, el('span', { title: 'share of the score', text: fmt(value, 3) }));
        if (sig && typeof sig.score === 'number') {
          shown.appendChild(el('span', { class: 'signal-raw', title: name + "'s own score", text: 'raw ' + fmt(sig.score, 2) }));
        }
      } else {
        shown = el('div', { class: 'signal-value', text: fmt(value, 3) });
      }
      cell.append(label, meter, shown);
      box.appendChild(cell);
    }
    return box;
  }

  // ---- graph ----------------------------------------------------------------

  /**
   * A deterministic layout of the graph's `nodes` (`{id, hit, rank}`) and
   * `edges` (`{from, to}`) in a `width` × `height` box, one `{x, y}` per
   * node: hits on an inner ring by rank, reached nodes on an outer ring next
   * to their neighbours, then a few hundred steps of a Fruchterman–Reingold
   * force simulation with a cooling schedule. No randomness, so one recall
   * always draws the same picture.
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
   * node's tooltip still has the text). Labels are cut to `smallChars`
   * characters in a box narrower than 560 px. Adds the placed boxes to
   * `obstacles`.
   */
  function placeLabels(nodes, pos, radiusOf, width, height, obstacles, smallChars) {
    const small = width < 560;
    const ordered = nodes.map((node, i) => i);
    const priority = (node) => (node.hit ? node.rank || 1e6 : 2e6 + node.id);
    ordered.sort((a, b) => priority(nodes[a]) - priority(nodes[b]));
    const labels = new Map();
    const h = LABEL_HEIGHT;
    for (const i of ordered) {
      const node = nodes[i];
      const text = snippet(node.content, small ? smallChars : node.hit ? 28 : 20);
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

  /** Arrow-head markers, one per edge kind (`#arrow-<via>`). */
  function arrowMarkers() {
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
    return defs;
  }

  /**
   * Draws a recall's activation graph into `root`, an <svg> element (its
   * children are replaced; its viewBox set to `width` × `height`): arrows
   * for the `edges` (`g.edges > line[data-testid=graph-edge][data-via]`,
   * kind labels on long ones) and a circle per node
   * (`g.nodes > g[data-testid=graph-node][data-id]`), its size by score,
   * seeds ringed, hits numbered, labels where they fit.
   *
   * Options: `width` and `height` (px); `selected`, the id of the node
   * marked `selected`; `onSelect(id)`, called when a node is clicked or
   * activated with the keyboard; `action`, the start of a node's aria-label
   * (`'Open memory'` → "Open memory 7"); `smallLabel`, the label length in
   * a box narrower than 560 px.
   */
  function drawGraph(root, nodes, edges, { width, height, selected, onSelect, action, smallLabel }) {
    clear(root);
    const pos = layout(nodes, edges, width, height);
    const at = new Map(nodes.map((node, i) => [node.id, pos[i]]));
    const maxScore = Math.max(1e-9, ...nodes.map((node) => (typeof node.score === 'number' ? node.score : 0)));
    const radius = (node) => (node.hit ? 9 + 9 * Math.sqrt(Math.max(0, node.score || 0) / maxScore) : 6);

    root.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    root.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    root.appendChild(arrowMarkers());

    const radiusOf = new Map(nodes.map((node) => [node.id, radius(node)]));
    const obstacles = nodes.map((node, i) => {
      const r = radiusOf.get(node.id) + 2;
      return { x: pos[i].x - r, y: pos[i].y - r, w: 2 * r, h: 2 * r };
    });
    const labels = placeLabels(nodes, pos, radiusOf, width, height, obstacles, smallLabel);

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
          (node.id === selected ? ' selected' : ''),
        'data-testid': 'graph-node',
        'data-id': node.id,
        'data-hit': node.hit ? 'true' : 'false',
        'data-seed': node.seed ? 'true' : 'false',
        transform: 'translate(' + p.x.toFixed(1) + ' ' + p.y.toFixed(1) + ')',
        tabindex: 0,
        role: 'button',
        'aria-label': action + ' ' + node.id,
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
      onActivate(g, () => onSelect(node.id));
      nodeLayer.appendChild(g);
    });
    root.appendChild(nodeLayer);
  }

  /**
   * Calls `redraw` when the window's resizing (settled for 150 ms) has
   * changed the width of `wrap`, the graph's box.
   */
  function redrawOnResize(wrap, redraw) {
    let timer = 0;
    let lastWidth = wrap.clientWidth;
    window.addEventListener('resize', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const w = wrap.clientWidth;
        if (w !== lastWidth) redraw();
        lastWidth = w;
      }, 150);
    });
  }

  globalThis.MnemoViz = Object.freeze({
    el,
    svg,
    clear,
    snippet,
    fmt,
    onActivate,
    highlight,
    signalClass,
    contributions,
    hitItem,
    showSummary,
    signalBars,
    drawGraph,
    redrawOnResize,
  });
})();
