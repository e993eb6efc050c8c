// Complaint tickets (投诉单): search (text, status, mine, overdue, open), create from a call or
// by hand (category, priority, due time, dispatch to a unit), the ticket with its workflow
// buttons (dispatch, start, resolve, close, reopen), comments, edits and full history.
// Live: ticket events on the stream refresh the list and the open ticket.
import { ApiError, api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { clear, el, errorText, fmtTime, toast } from '../common/ui.js';
import { S, act, emit, label, on, preserving, ticketCategoryLabel } from './store.js';

const TICKET_EVENTS = new Set(['TicketCreated', 'TicketUpdated', 'TicketTransitioned', 'TicketCommented']);
const STATUS_CLASS = { new: 'badge-info', dispatched: 'badge-warn', in_progress: 'badge-busy',
  resolved: 'badge-ok', closed: '' };

let pane = null;
let body = null;
let filters = null;
let view = { mode: 'list', items: [], total: 0 };
let unitMode = false;

export function ticketPanel(options = {}) {
  unitMode = Boolean(options.unitMode);
  const q = el('input', { class: 'grow', maxlength: 64, dataset: { testid: 'tk-query' } });
  const status = el('select', { dataset: { testid: 'tk-status-filter' } });
  const mine = el('input', { type: 'checkbox', checked: unitMode, dataset: { testid: 'tk-mine' } });
  const overdue = el('input', { type: 'checkbox', dataset: { testid: 'tk-overdue' } });
  const open = el('input', { type: 'checkbox', dataset: { testid: 'tk-open' } });
  const labels = {};
  const check = (box, key) => {
    labels[key] = el('span', {});
    return el('label', { class: 'field inline' }, box, labels[key]);
  };
  const searchBtn = el('button', { class: 'btn btn-primary', type: 'submit', dataset: { testid: 'tk-search' } });
  const newBtn = el('button', { class: 'btn', type: 'button', dataset: { testid: 'tk-new' },
    onclick: () => openForm({}) });
  filters = { q, status, mine, overdue, open };
  const bar = el('form', { class: 'row searchbar', onsubmit: (ev) => { ev.preventDefault(); list(); } },
    q, status, check(mine, 'tk.mine'), check(overdue, 'tk.overdue_only'), check(open, 'tk.open_only'),
    searchBtn, unitMode ? null : newBtn);
  body = el('div', { class: 'tk-body' });
  pane = el('div', { class: 'pane', dataset: { testid: 'tickets' } }, bar, body);
  const relabel = () => {
    const keep = status.value;
    clear(status).appendChild(el('option', { value: '' }, t('tk.status_all')));
    for (const s of (S.meta && S.meta.statuses) || []) status.appendChild(el('option', { value: s }, label('status', s)));
    status.value = keep;
    q.placeholder = t('tk.search_placeholder');
    for (const [key, node] of Object.entries(labels)) node.textContent = t(key);
    searchBtn.textContent = t('common.search');
    newBtn.textContent = t('tk.new');
  };
  relabel();
  on('lang', () => { relabel(); preserving(body, render); });
  on('new-ticket', (prefill) => { emit('select-tab', 'tickets'); openForm(prefill || {}); });
  on('open-ticket', (id) => openTicket(id));
  on('event', onEvent);
  on('resync', () => { if (view.mode === 'list') list(); else if (view.mode === 'detail') openTicket(view.ticket.id, true); });
  list();
  return pane;
}

function onEvent(ev) {
  if (!TICKET_EVENTS.has(ev.type)) return;
  const p = ev.payload || {};
  const byOther = p.actor !== S.me.user.username;
  if (byOther) {
    const toMyUnit = S.meta && S.meta.my_units.includes(p.unit_id);
    if (ev.type === 'TicketTransitioned' && p.status === 'dispatched' && toMyUnit) {
      toast(t('tk.created_live', { number: p.number }), 'info', 6000);
    } else if (ev.type === 'TicketTransitioned') {
      toast(t('tk.changed_live', { number: p.number, status: label('status', p.status), who: p.actor }), 'info', 6000);
    } else if (ev.type === 'TicketCommented') {
      toast(t('tk.commented_live', { number: p.number, who: p.actor }), 'info');
    } else if (ev.type === 'TicketCreated' && toMyUnit) {
      toast(t('tk.created_live', { number: p.number }), 'info');
    }
  }
  if (view.mode === 'list') list();
  else if (view.mode === 'detail' && view.ticket.id === p.ticket_id) openTicket(p.ticket_id, true);
}

async function list() {
  const params = new URLSearchParams({ limit: '100' });
  if (filters.q.value.trim()) params.set('q', filters.q.value.trim());
  if (filters.status.value) params.set('status', filters.status.value);
  if (filters.mine.checked) params.set('mine', 'true');
  if (filters.overdue.checked) params.set('overdue', 'true');
  if (filters.open.checked) params.set('open', 'true');
  try {
    const page = await api('GET', `/api/v1/tickets?${params}`);
    view = { mode: 'list', items: page.items, total: page.total };
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  render();
}

async function openTicket(id, keepScroll) {
  try {
    const ticket = await api('GET', `/api/v1/tickets/${id}`);
    view = { mode: 'detail', ticket };
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  const top = body.scrollTop;
  render();
  if (keepScroll) body.scrollTop = top;
}

function openForm(prefill) {
  view = { mode: 'form', prefill };
  render();
}

function render() {
  clear(body);
  if (view.mode === 'list') return renderList();
  if (view.mode === 'detail') return renderDetail();
  return renderForm();
}

function statusBadge(status, testid) {
  return el('span', { class: `badge ${STATUS_CLASS[status] || ''}`, dataset: { testid: testid || 'tk-status', status } },
    label('status', status));
}

function renderList() {
  if (!view.items.length) {
    body.appendChild(el('p', { class: 'muted', dataset: { testid: 'tk-none' } }, t('tk.no_results')));
    return;
  }
  body.appendChild(el('div', { class: 'muted' }, t('tk.results', { n: view.total })));
  const head = ['tk.number', 'tk.title', 'tk.customer', 'tk.category', 'tk.priority', 'tk.unit',
    'tk.status', 'tk.due', 'tk.created_by'];
  const rows = view.items.map((tk) => el('tr', {
    class: `clickable${tk.overdue ? ' overdue' : ''}`, dataset: { testid: 'tk-row', id: tk.id, number: tk.number },
    onclick: () => openTicket(tk.id),
  },
  el('td', {}, tk.number), el('td', {}, tk.title), el('td', {}, tk.customer_name || ''),
  el('td', {}, ticketCategoryLabel(tk.category)),
  el('td', {}, el('span', { class: `prio prio-${tk.priority}` }, label('prio', tk.priority))),
  el('td', {}, tk.unit ? tk.unit.name : ''),
  el('td', {}, statusBadge(tk.status)),
  el('td', {}, fmtTime(tk.due_at), tk.overdue ? el('span', { class: 'badge badge-bad' }, t('tk.overdue')) : null),
  el('td', {}, tk.created_by)));
  body.appendChild(el('div', { class: 'scroll' }, el('table', { class: 'table' },
    el('thead', {}, el('tr', {}, head.map((k) => el('th', {}, t(k))))), el('tbody', {}, rows))));
}

function kv(key, value, testid) {
  return el('div', { class: 'kv' }, el('span', { class: 'k' }, t(key)),
    el('span', { class: 'v', dataset: testid ? { testid } : undefined }, value ?? ''));
}

function unitSelect(selected, testid) {
  const select = el('select', { dataset: { testid } }, el('option', { value: '' }, '—'),
    ...((S.meta && S.meta.units) || []).map((u) => el('option', { value: u.id }, u.name)));
  if (selected) select.value = String(selected);
  return select;
}

function actionLabel(tk, to) {
  if (to === 'dispatched' && tk.status !== 'new') return t('act.redispatch');
  if (to === 'in_progress' && tk.status === 'resolved') return t('act.reopen');
  return t(`act.${to}`);
}

function renderDetail() {
  const tk = view.ticket;
  body.appendChild(el('div', { class: 'row' },
    el('button', { class: 'btn btn-small', type: 'button', onclick: () => list() }, `← ${t('tk.back')}`)));
  const card = el('div', { class: `card ticket${tk.overdue ? ' overdue' : ''}`, dataset: { testid: 'tk-detail', id: tk.id } },
    el('div', { class: 'row' },
      el('h2', { dataset: { testid: 'tk-number' } }, tk.number),
      statusBadge(tk.status, 'tk-detail-status'),
      el('span', { class: `prio prio-${tk.priority}` }, label('prio', tk.priority)),
      tk.overdue ? el('span', { class: 'badge badge-bad', dataset: { testid: 'tk-overdue' } }, t('tk.overdue')) : null),
    el('div', { class: 'tk-title', dataset: { testid: 'tk-title' } }, tk.title),
    el('div', { class: 'grid2' },
      kv('tk.category', ticketCategoryLabel(tk.category)),
      kv('tk.unit', tk.unit ? tk.unit.name : t('tk.none_unit'), 'tk-unit'),
      kv('tk.customer', tk.customer_id
        ? el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); emit('select-tab', 'customers'); emit('open-customer', tk.customer_id); } }, tk.customer_name || `#${tk.customer_id}`)
        : t('tk.no_customer')),
      kv('tk.due', fmtTime(tk.due_at)),
      kv('tk.created_by', `${tk.created_by} · ${fmtTime(tk.created_at)}`),
      kv('tk.call', tk.call_id || '')),
    el('div', { class: 'description' }, tk.description));
  body.appendChild(card);
  if (tk.can_update) {
    body.appendChild(actions(tk));
  } else {
    body.appendChild(el('p', { class: 'muted', dataset: { testid: 'tk-readonly' } }, t('tk.readonly')));
  }
  body.appendChild(history(tk));
}

function actions(tk) {
  const remark = el('input', { class: 'grow', maxlength: 2000, placeholder: t('tk.move_comment'), dataset: { testid: 'tk-remark' } });
  const unit = unitSelect(tk.unit_id, 'tk-unit-select');
  const buttons = tk.next_statuses.map((to) => el('button', {
    class: `btn ${to === 'resolved' || to === 'closed' ? 'btn-ok' : 'btn-primary'}`, type: 'button',
    dataset: { testid: `tk-move-${to}` },
    onclick: async () => {
      const payload = { status: to, comment: remark.value.trim() };
      if (to === 'dispatched') {
        if (!unit.value) { toast(t('tk.err_unit'), 'warn'); unit.classList.add('invalid'); return; }
        payload.unit_id = Number(unit.value);
      }
      const out = await act('POST', `/api/v1/tickets/${tk.id}/transition`, payload,
        t('tk.moved', { number: tk.number, status: label('status', to) }));
      if (out && out.id) { view = { mode: 'detail', ticket: out }; render(); }
    },
  }, actionLabel(tk, to)));
  const comment = el('textarea', { rows: 2, maxlength: 4000, placeholder: t('tk.comment_placeholder'), dataset: { testid: 'tk-comment' } });
  const editBtn = el('button', { class: 'btn', type: 'button', dataset: { testid: 'tk-edit' }, onclick: () => editForm(tk) }, t('tk.edit'));
  return el('div', { class: 'card tk-actions' },
    tk.next_statuses.length ? el('div', { class: 'row' },
      tk.next_statuses.includes('dispatched') ? el('label', { class: 'field inline' }, el('span', {}, t('tk.dispatch_to')), unit) : null,
      remark) : null,
    el('div', { class: 'row' }, ...buttons, el('span', { class: 'spacer' }), tk.status !== 'closed' ? editBtn : null),
    el('form', { class: 'row', onsubmit: async (ev) => {
      ev.preventDefault();
      if (!comment.value.trim()) return;
      const out = await act('POST', `/api/v1/tickets/${tk.id}/comments`, { text: comment.value.trim() }, t('tk.comment_added'));
      if (out && out.id) { view = { mode: 'detail', ticket: out }; render(); }
    } }, comment, el('button', { class: 'btn', type: 'submit', dataset: { testid: 'tk-comment-add' } }, t('tk.comment_add'))));
}

function history(tk) {
  const items = tk.history.slice().reverse().map((h) => el('li', { dataset: { testid: 'tk-history-item', action: h.action } },
    el('span', { class: 'muted' }, `${fmtTime(h.at)} · ${h.actor} · `),
    el('b', {}, label('hist', h.action)),
    h.action === 'transition' ? ` ${label('status', h.from_status)} → ${label('status', h.to_status)}` : '',
    h.action === 'created' ? ` ${label('status', h.to_status)}` : '',
    h.comment ? el('div', { class: 'note-text' }, h.comment) : null));
  return el('div', { class: 'card' }, el('h3', {}, t('tk.history')), el('ul', { class: 'history', dataset: { testid: 'tk-history' } }, items));
}

function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function categorySelect(selected) {
  const select = el('select', { dataset: { testid: 'tf-category' } }, el('option', { value: '' }, '—'),
    ...((S.meta && S.meta.categories) || []).map((c) => el('option', { value: c.code }, ticketCategoryLabel(c.code))));
  select.value = selected || '';
  return select;
}

function prioritySelect(selected) {
  const select = el('select', { dataset: { testid: 'tf-priority' } },
    ...((S.meta && S.meta.priorities) || ['low', 'normal', 'high', 'urgent']).map((p) => el('option', { value: p }, label('prio', p))));
  select.value = selected || 'normal';
  return select;
}

function field(key, input, error) {
  return el('label', { class: 'field' }, el('span', {}, t(key)), input, error || null);
}

function editForm(tk) {
  const title = el('input', { maxlength: 255, value: tk.title, dataset: { testid: 'tf-title' } });
  const category = categorySelect(tk.category);
  const priority = prioritySelect(tk.priority);
  const due = el('input', { type: 'datetime-local', value: toLocalInput(tk.due_at), dataset: { testid: 'tf-due' } });
  const description = el('textarea', { rows: 4, maxlength: 4000, dataset: { testid: 'tf-description' } });
  description.value = tk.description;
  const error = el('div', { class: 'form-error', role: 'alert' });
  clear(body).appendChild(el('form', { class: 'card', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    if (!title.value.trim()) { error.textContent = t('tk.err_title'); return; }
    const payload = { title: title.value.trim(), category: category.value, priority: priority.value,
      description: description.value };
    if (due.value) payload.due_at = new Date(due.value).toISOString();
    else payload.clear_due = true;
    try {
      const out = await api('PATCH', `/api/v1/tickets/${tk.id}`, payload);
      toast(t('tk.saved'), 'ok');
      view = { mode: 'detail', ticket: out };
      render();
    } catch (err) {
      error.textContent = errorText(err);
    }
  } },
  el('h3', {}, `${t('tk.edit')} ${tk.number}`),
  el('div', { class: 'form-grid' }, field('tk.title', title), field('tk.category', category),
    field('tk.priority', priority), field('tk.due', due)),
  field('tk.description', description), error,
  el('div', { class: 'form-actions' },
    el('button', { class: 'btn', type: 'button', onclick: () => openTicket(tk.id) }, t('common.cancel')),
    el('button', { class: 'btn btn-primary', type: 'submit' }, t('common.save')))));
}

async function renderForm() {
  const pre = view.prefill || {};
  let customer = null;
  if (pre.customer_id) {
    try { customer = await api('GET', `/api/v1/customers/${pre.customer_id}`); } catch (_) { customer = null; }
  }
  const title = el('input', { maxlength: 255, dataset: { testid: 'tf-title' } });
  const titleErr = el('div', { class: 'field-error' });
  const category = categorySelect(pre.category || 'service');
  const catErr = el('div', { class: 'field-error' });
  const priority = prioritySelect('normal');
  const due = el('input', { type: 'datetime-local', dataset: { testid: 'tf-due' } });
  const unit = unitSelect(null, 'tf-unit');
  const description = el('textarea', { rows: 4, maxlength: 4000, dataset: { testid: 'tf-description' } });
  const error = el('div', { class: 'form-error', role: 'alert', dataset: { testid: 'tf-error' } });
  const form = el('form', { class: 'card', novalidate: true, dataset: { testid: 'tk-form' } },
    el('h3', {}, t('tk.form_new')),
    el('p', { class: 'muted' },
      customer ? t('tk.from_customer', { name: `${customer.name}（${customer.account_no}）` }) : t('tk.no_customer'),
      pre.call_id ? ` · ${t('tk.call')} ${pre.call_id}` : ''),
    el('div', { class: 'form-grid' },
      field('tk.title', title, titleErr), field('tk.category', category, catErr),
      field('tk.priority', priority), field('tk.due', due, el('div', { class: 'muted small' }, t('tk.due_default'))),
      field('tk.dispatch_now', unit)),
    field('tk.description', description), error,
    el('div', { class: 'form-actions' },
      el('button', { class: 'btn', type: 'button', onclick: () => list() }, t('common.cancel')),
      el('button', { class: 'btn btn-primary', type: 'submit', dataset: { testid: 'tf-create' } }, t('tk.create'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    titleErr.textContent = '';
    catErr.textContent = '';
    error.textContent = '';
    let valid = true;
    if (!title.value.trim()) { titleErr.textContent = t('tk.err_title'); valid = false; }
    if (!category.value) { catErr.textContent = t('tk.err_category'); valid = false; }
    if (!valid) return;
    const payload = { title: title.value.trim(), description: description.value, category: category.value,
      priority: priority.value };
    if (customer) payload.customer_id = customer.id;
    if (pre.call_id) payload.call_id = pre.call_id;
    if (due.value) payload.due_at = new Date(due.value).toISOString();
    if (unit.value) payload.unit_id = Number(unit.value);
    try {
      const out = await api('POST', '/api/v1/tickets', payload);
      toast(t('tk.created', { number: out.number }), 'ok');
      view = { mode: 'detail', ticket: out };
      render();
    } catch (err) {
      error.textContent = err instanceof ApiError ? errorText(err) : String(err);
    }
  });
  clear(body).appendChild(form);
  title.focus();
}
