// IVR flow editor: the flow document (JSON) beside its diagram (SVG drawn here from the nodes
// and their edges, laid out in layers from the start node). "Validate" checks it in the
// browser first (ids, types, references) and then with the server's own parser; "Save" stores
// a new version (the server validates again); "Activate" makes a version live for new calls.
import { api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { clear, el, errorText, fmtTime, toast } from '../common/ui.js';

const A = '/api/v1/admin';
const NS = 'http://www.w3.org/2000/svg';
const TYPES = ['play', 'menu', 'collect', 'lookup', 'branch', 'set', 'enqueue', 'transfer',
  'voicemail', 'fax', 'callback', 'hangup'];
const COLORS = {
  play: '#e1ecfb', menu: '#fff1d6', collect: '#fff1d6', lookup: '#efe3fa', branch: '#efe3fa',
  set: '#eef0f3', enqueue: '#dcf3e3', transfer: '#dcf3e3', voicemail: '#fde2e2', fax: '#fde2e2',
  callback: '#dcf3e3', hangup: '#fde2e2',
};
const ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

// [{to, label}] of a node, by its type (the same fields the server's parser reads).
export function edgesOf(node) {
  const out = [];
  const add = (to, label) => { if (typeof to === 'string' && to) out.push({ to, label }); };
  switch (node.type) {
    case 'menu':
      for (const [digit, to] of Object.entries(node.choices || {})) add(to, digit);
      add(node.on_failure, 'fail');
      break;
    case 'collect': add(node.next, 'next'); add(node.on_failure, 'fail'); break;
    case 'lookup':
      add(node.on_found, 'found'); add(node.on_not_found, 'not found'); add(node.on_error, 'error');
      break;
    case 'branch':
      (node.cases || []).forEach((c, i) => add(c && c.next, `case ${i + 1}`));
      add(node.else, 'else');
      break;
    default: add(node.next, '');
  }
  return out;
}

export function checkFlow(doc) {
  const problems = [];
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return ['flow: not an object'];
  if (typeof doc.name !== 'string' || !ID.test(doc.name)) problems.push("flow: 'name' must be an identifier");
  if (!Array.isArray(doc.nodes) || !doc.nodes.length) return [...problems, "flow: 'nodes' must be a non-empty list"];
  const ids = new Set();
  doc.nodes.forEach((n, i) => {
    if (!n || typeof n !== 'object') { problems.push(`flow: nodes[${i}] must be an object`); return; }
    if (typeof n.id !== 'string' || !ID.test(n.id)) problems.push(`flow: nodes[${i}] has a bad id`);
    else if (ids.has(n.id)) problems.push(`node '${n.id}': duplicate id`);
    else ids.add(n.id);
    if (!TYPES.includes(n.type)) problems.push(`node '${n.id}': unknown type ${JSON.stringify(n.type)}`);
  });
  for (const n of doc.nodes) {
    if (!n || typeof n !== 'object') continue;
    for (const e of edgesOf(n)) {
      if (!ids.has(e.to)) problems.push(`node '${n.id}': '${e.to}' is not a node`);
    }
    if (n.type === 'enqueue' && !n.queue) problems.push(`node '${n.id}': 'queue' is required`);
  }
  const start = doc.start || (doc.nodes[0] && doc.nodes[0].id);
  if (!ids.has(start)) problems.push(`flow: start node '${start}' does not exist`);
  return problems;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function subtitle(n) {
  if (n.type === 'enqueue') return `→ ${n.queue || '?'}`;
  if (n.type === 'transfer') return `→ ${n.target || '?'}`;
  if (n.type === 'voicemail') return `box ${n.box || 'general'}`;
  if (n.type === 'lookup') return n.kind || '';
  const prompt = Array.isArray(n.prompt) ? n.prompt.join(' ') : (n.prompt || '');
  return String(prompt).slice(0, 14);
}

// The diagram: nodes in layers by distance from the start, edges with their labels; edges
// going back up (loops) are dashed curves.
export function drawFlow(doc) {
  const nodes = (doc.nodes || []).filter((n) => n && typeof n.id === 'string');
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const start = doc.start || (nodes[0] && nodes[0].id);
  const layer = new Map();
  const order = [];
  const queue = byId.has(start) ? [start] : [];
  if (queue.length) layer.set(start, 0);
  while (queue.length) {
    const id = queue.shift();
    order.push(id);
    for (const e of edgesOf(byId.get(id))) {
      if (byId.has(e.to) && !layer.has(e.to)) { layer.set(e.to, layer.get(id) + 1); queue.push(e.to); }
    }
  }
  const deepest = Math.max(0, ...layer.values());
  for (const n of nodes) if (!layer.has(n.id)) { layer.set(n.id, deepest + 1); order.push(n.id); }
  const rows = [];
  for (const id of order) (rows[layer.get(id)] ||= []).push(id);
  const W = 150; const H = 44; const GX = 24; const GY = 46; const PAD = 16;
  const widest = Math.max(1, ...rows.map((r) => (r ? r.length : 0)));
  const width = PAD * 2 + widest * W + (widest - 1) * GX;
  const height = PAD * 2 + rows.length * H + (rows.length - 1) * GY;
  const pos = new Map();
  rows.forEach((row, y) => (row || []).forEach((id, x) => {
    const rowW = row.length * W + (row.length - 1) * GX;
    pos.set(id, { x: (width - rowW) / 2 + x * (W + GX), y: PAD + y * (H + GY) });
  }));
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'flow-diagram',
    'data-testid': 'flow-diagram' });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#6b7280' }));
  defs.appendChild(marker);
  root.appendChild(defs);
  for (const n of nodes) {
    const a = pos.get(n.id);
    edgesOf(n).forEach((e, i) => {
      const b = pos.get(e.to);
      if (!b) return;
      const x1 = a.x + W / 2 + (i - 1) * 8; const y1 = a.y + H;
      const x2 = b.x + W / 2; const y2 = b.y;
      const back = b.y <= a.y;
      const d = back
        ? `M ${a.x + W} ${a.y + H / 2} C ${a.x + W + 60} ${a.y + H / 2}, ${b.x + W + 60} ${b.y + H / 2}, ${b.x + W} ${b.y + H / 2}`
        : `M ${x1} ${y1} C ${x1} ${y1 + GY / 2}, ${x2} ${y2 - GY / 2}, ${x2} ${y2}`;
      root.appendChild(svg('path', { d, class: `flow-edge${back ? ' back' : ''}`, 'marker-end': 'url(#arrow)',
        'data-from': n.id, 'data-to': e.to }));
      if (e.label) {
        const lx = back ? Math.max(a.x, b.x) + W + 34 : (x1 + x2) / 2;
        const ly = back ? (a.y + b.y + H) / 2 : (y1 + y2) / 2 + 4;
        root.appendChild(svg('text', { x: lx, y: ly, class: 'flow-edge-label', 'text-anchor': 'middle' }, e.label));
      }
    });
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = svg('g', { class: 'flow-node', 'data-node': n.id, transform: `translate(${p.x} ${p.y})` });
    g.appendChild(svg('rect', { width: W, height: H, rx: 6, fill: COLORS[n.type] || '#eee',
      stroke: n.id === start ? '#1d5fbf' : '#9aa4b2', 'stroke-width': n.id === start ? 2 : 1 }));
    g.appendChild(svg('text', { x: 8, y: 17, class: 'flow-node-id' }, n.id));
    g.appendChild(svg('text', { x: 8, y: 34, class: 'flow-node-type' }, `${n.type} ${subtitle(n)}`));
    root.appendChild(g);
  }
  return root;
}

export function flowPage(root) {
  const pick = el('select', { dataset: { testid: 'flow-pick' } });
  const text = el('textarea', { class: 'flow-json', spellcheck: false, dataset: { testid: 'flow-json' } });
  const diagram = el('div', { class: 'flow-diagram-box' });
  const report = el('div', { class: 'flow-report', dataset: { testid: 'flow-report' } });
  const versions = el('div', { class: 'flow-versions' });
  let registry = [];

  const button = (key, testid, fn, cls = '') => el('button', { class: `btn ${cls}`, type: 'button',
    dataset: { testid }, onclick: fn }, t(key));
  clear(root).append(
    el('div', { class: 'row' }, el('h2', {}, t('nav.flows')), el('span', { class: 'spacer' }),
      el('label', { class: 'field inline' }, el('span', {}, t('flow.pick')), pick),
      button('flow.load_live', 'flow-load', () => loadLive(pick.value)),
      button('flow.new', 'flow-new', () => setDoc({ name: 'new_flow', version: 1, start: 'hello', nodes: [
        { id: 'hello', type: 'play', prompt: '您好', next: 'bye' }, { id: 'bye', type: 'hangup' }] })),
      button('flow.validate', 'flow-validate', () => validate()),
      button('flow.save', 'flow-save', () => save(), 'btn-primary')),
    report,
    el('div', { class: 'flow-split' },
      el('div', { class: 'col' }, el('h3', {}, t('flow.document')), text, versions),
      el('div', { class: 'col' }, el('h3', {}, t('flow.diagram')), diagram)));

  let redraw = null;
  text.addEventListener('input', () => {
    window.clearTimeout(redraw);
    redraw = window.setTimeout(draw, 300);
  });

  function parsed() {
    try { return JSON.parse(text.value); } catch (err) { return { error: err.message }; }
  }

  function draw() {
    const doc = parsed();
    clear(diagram);
    if (doc.error) { diagram.appendChild(el('p', { class: 'form-error' }, doc.error)); return; }
    diagram.appendChild(drawFlow(doc));
  }

  function setDoc(doc) {
    text.value = JSON.stringify(doc, null, 2);
    clear(report);
    draw();
  }

  function show(kind, title, lines) {
    clear(report).appendChild(el('div', { class: `flow-msg ${kind}` }, el('b', {}, title),
      lines && lines.length ? el('ul', {}, lines.map((l) => el('li', {}, l))) : null));
  }

  async function validate() {
    const doc = parsed();
    if (doc.error) { show('bad', t('flow.invalid'), [doc.error]); return false; }
    const local = checkFlow(doc);
    if (local.length) { show('bad', t('flow.client_problems'), local); return false; }
    try {
      const res = await api('POST', `${A}/flows/validate`, { body: doc });
      if (!res.ok) { show('bad', t('flow.server_problems'), res.problems); return false; }
      show('ok', t('flow.valid'), res.warnings.length ? res.warnings : null);
      return true;
    } catch (err) {
      show('bad', t('flow.invalid'), [errorText(err)]);
      return false;
    }
  }

  async function save() {
    if (!(await validate())) return;
    const doc = parsed();
    doc.version = doc.version || 1;
    try {
      const rec = await api('POST', `${A}/flows`, { body: doc });
      toast(t('flow.saved', { v: rec.version }), 'ok');
      show('ok', t('flow.saved', { v: rec.version }));
      await loadRegistry(rec.name);
    } catch (err) {
      show('bad', t('flow.invalid'), [errorText(err)]);
    }
  }

  async function activate(name, version) {
    try {
      await api('POST', `${A}/flows/${encodeURIComponent(name)}/${version}/activate`);
      toast(t('flow.activated', { v: version }), 'ok');
      show('ok', t('flow.activated', { v: version }));
      await loadRegistry(name);
    } catch (err) {
      toast(t('adm.failed', { message: errorText(err) }), 'error');
    }
  }

  async function showVersions(name) {
    clear(versions);
    if (!name) return;
    const list = await api('GET', `${A}/flows/${encodeURIComponent(name)}`);
    const live = registry.find((f) => f.name === name);
    versions.append(el('h3', {}, t('flow.versions'),
      live && live.current_version ? el('span', { class: 'badge badge-ok' }, t('flow.live', { v: live.current_version })) : null),
    el('table', { class: 'table', dataset: { testid: 'flow-versions' } }, el('tbody', {}, list.map((r) => el('tr', {},
      el('td', {}, t('flow.stored_version', { v: r.version, who: r.created_by || '', at: fmtTime(r.created_at) })),
      el('td', {}, el('button', { class: 'btn btn-small', type: 'button', onclick: () => setDoc(r.body) }, t('adm.edit')),
        live && live.current_version === r.version ? null
          : el('button', { class: 'btn btn-small btn-primary', type: 'button',
            dataset: { testid: `flow-activate-${r.version}` }, onclick: () => activate(name, r.version) },
          t('flow.activate'))))))));
  }

  async function loadRegistry(selected) {
    registry = await api('GET', `${A}/flow-registry`);
    clear(pick).append(...registry.map((f) => el('option', { value: f.name, selected: f.name === selected },
      `${f.name}${f.current_version ? ` (v${f.current_version})` : ''}`)));
    await showVersions(pick.value);
  }

  async function loadLive(name) {
    if (!name) return;
    try {
      const cur = await api('GET', `${A}/flows/${encodeURIComponent(name)}/current`);
      setDoc(cur.body);
    } catch (err) {
      show('bad', t('flow.unknown_doc', { message: errorText(err) }));
    }
    await showVersions(name);
  }

  pick.addEventListener('change', () => loadLive(pick.value));
  (async () => {
    try {
      await loadRegistry();
      await loadLive(pick.value);
    } catch (err) {
      toast(errorText(err), 'error');
    }
  })();
}
