// Customer records (客户资料): search by any key, the record with its calls (and recordings),
// tickets and notes; create / edit / delete (with confirmation); the screen pop opens the
// caller's record, or a new-customer form pre-filled with the caller's number.
import { ApiError, api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { clear, confirmDialog, el, errorText, fmtDuration, fmtTime, toast } from '../common/ui.js';
import { S, act, businessLabel, emit, label, on, preserving, ticketCategoryLabel, yuan } from './store.js';

const KEYS = ['q', 'phone', 'account_no', 'name', 'id_number'];
const RE = {
  account: /^[A-Za-z0-9]{4,32}$/,
  phone: /^\+?[0-9]{3,20}$/,
  id: /^([0-9]{15}|[0-9]{17}[0-9Xx])$/,
  money: /^-?[0-9]+(\.[0-9]{1,2})?$/,
};

let pane = null;
let body = null;
let keySel = null;
let query = null;
let view = { mode: 'empty' }; // empty | list | detail | form
let subTab = 'calls';

export function customerPanel() {
  keySel = el('select', { dataset: { testid: 'cust-key' }, 'aria-label': 'key' });
  query = el('input', { class: 'grow', maxlength: 64, dataset: { testid: 'cust-query' } });
  const form = el('form', { class: 'row searchbar', onsubmit: (ev) => { ev.preventDefault(); search(); } },
    keySel, query,
    el('button', { class: 'btn btn-primary', type: 'submit', dataset: { testid: 'cust-search' } }, ''),
    el('button', { class: 'btn', type: 'button', dataset: { testid: 'cust-new' },
      onclick: () => openForm(null, {}) }, ''));
  body = el('div', { class: 'cust-body' });
  pane = el('div', { class: 'pane', dataset: { testid: 'customers' } }, form, body);
  const relabel = () => {
    const keep = keySel.value;
    clear(keySel);
    for (const k of KEYS) keySel.appendChild(el('option', { value: k }, t(`cust.key_${k}`)));
    keySel.value = keep || 'q';
    query.placeholder = t('cust.search_placeholder');
    form.querySelector('[data-testid="cust-search"]').textContent = t('common.search');
    form.querySelector('[data-testid="cust-new"]').textContent = t('cust.new');
  };
  relabel();
  on('lang', () => { relabel(); preserving(body, render); });
  on('pop', onPop);
  on('open-customer', (id) => openCustomer(id));
  on('shortcut', (what) => { if (what === 'search') query.focus(); });
  on('event', onEvent);
  on('notes-changed', (id) => { if (view.mode === 'detail' && view.customer.id === id) loadTab(); });
  render();
  return pane;
}

function onPop(pop) {
  emit('select-tab', 'customers');
  if (pop.customer_id) {
    openCustomer(pop.customer_id);
  } else if (pop.matches.length > 1) {
    view = { mode: 'list', items: pop.matches, total: pop.matches.length };
    render();
  } else {
    openForm(null, { phones: pop.caller ? [pop.caller] : [] }, pop.caller);
  }
}

function onEvent(ev) {
  if (view.mode !== 'detail' && view.mode !== 'form') return;
  const p = ev.payload || {};
  const current = view.customer;
  if (!current || p.customer_id !== current.id || p.actor === S.me.user.username) return;
  if (ev.type === 'CustomerUpdated' && view.mode === 'detail') {
    toast(t('cust.changed_elsewhere', { who: p.actor }), 'info');
    openCustomer(current.id);
  } else if (ev.type === 'CustomerDeleted') {
    toast(t('cust.deleted_elsewhere', { name: p.name, who: p.actor }), 'warn');
    view = { mode: 'empty' };
    S.customerId = null;
    render();
  }
}

async function search() {
  const value = query.value.trim();
  const params = new URLSearchParams({ limit: '50' });
  if (value) params.set(keySel.value, value);
  try {
    const page = await api('GET', `/api/v1/customers?${params}`);
    view = { mode: 'list', items: page.items, total: page.total };
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  render();
}

export async function openCustomer(id) {
  try {
    const customer = await api('GET', `/api/v1/customers/${id}`);
    view = { mode: 'detail', customer };
    S.customerId = customer.id;
    emit('customer-open', customer);
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  render();
}

function openForm(customer, prefill, fromCall) {
  view = { mode: 'form', customer, prefill: prefill || {}, fromCall, errors: {} };
  render();
}

function render() {
  clear(body);
  if (view.mode === 'list') renderList();
  else if (view.mode === 'detail') renderDetail();
  else if (view.mode === 'form') renderForm();
}

function renderList() {
  if (!view.items.length) {
    body.appendChild(el('p', { class: 'muted', dataset: { testid: 'cust-none' } }, t('cust.no_results')));
    return;
  }
  body.appendChild(el('div', { class: 'muted' }, t('cust.results', { n: view.total })));
  const rows = view.items.map((c) => el('tr', { class: 'clickable', dataset: { testid: 'cust-row', id: c.id },
    onclick: () => openCustomer(c.id) },
  el('td', {}, c.account_no), el('td', {}, c.name), el('td', {}, c.phones.join(', ')),
  el('td', {}, c.address), el('td', { class: 'num' }, yuan(c.balance_fen))));
  body.appendChild(el('div', { class: 'scroll' }, el('table', { class: 'table' },
    el('thead', {}, el('tr', {}, ...['cust.account_no', 'cust.name', 'cust.phones', 'cust.address', 'cust.balance']
      .map((k) => el('th', {}, t(k))))),
    el('tbody', {}, rows))));
}

function renderDetail() {
  const c = view.customer;
  const phones = c.phones.map((p) => el('span', { class: 'phone' }, p, ' ',
    el('button', { class: 'btn btn-small', type: 'button', dataset: { testid: 'dial-phone' },
      disabled: !S.agentId, onclick: () => emit('dial', { target: p, customer_id: c.id }) }, t('cust.dial'))));
  body.appendChild(el('div', { class: 'card customer', dataset: { testid: 'cust-detail', id: c.id } },
    el('div', { class: 'row' },
      el('h2', { dataset: { testid: 'cust-name' } }, c.name),
      el('span', { class: 'badge badge-info' }, `${t('cust.account_no')} ${c.account_no}`),
      el('span', { class: 'spacer' }),
      el('button', { class: 'btn', type: 'button', dataset: { testid: 'cust-ticket' },
        onclick: () => emit('new-ticket', { customer_id: c.id, call_id: currentCallId() }) }, t('tk.new')),
      el('button', { class: 'btn', type: 'button', dataset: { testid: 'cust-edit' },
        onclick: () => openForm(c, {}) }, t('cust.edit')),
      el('button', { class: 'btn btn-danger', type: 'button', dataset: { testid: 'cust-delete' },
        onclick: () => remove(c) }, t('cust.delete'))),
    el('div', { class: 'grid2' },
      kv('cust.phones', phones),
      kv('cust.balance', el('span', { class: c.balance_fen < 0 ? 'neg' : '' }, yuan(c.balance_fen))),
      kv('cust.address', c.address),
      kv('cust.id_number', c.id_number || ''))));
  const tabs = el('div', { class: 'tabs' },
    ...['calls', 'tickets', 'notes'].map((k) => el('button', {
      class: `tab${subTab === k ? ' active' : ''}`, type: 'button', dataset: { testid: `cust-tab-${k}` },
      onclick: () => { subTab = k; render(); },
    }, t(`cust.${k}`))));
  const content = el('div', { class: 'subpane', dataset: { testid: 'cust-subpane' } }, t('common.loading'));
  body.append(tabs, content);
  loadTab(content);
}

function kv(key, value) {
  return el('div', { class: 'kv' }, el('span', { class: 'k' }, t(key)), el('span', { class: 'v' }, value));
}

function currentCallId() {
  return (S.call && S.call.call_id) || (S.lastCall && S.lastCall.call_id) || null;
}

async function loadTab(target) {
  const content = target || body.querySelector('[data-testid="cust-subpane"]');
  if (!content || view.mode !== 'detail') return;
  const c = view.customer;
  try {
    if (subTab === 'calls') {
      const calls = await api('GET', `/api/v1/customers/${c.id}/calls?limit=50`);
      clear(content).appendChild(callsTable(c, calls));
    } else if (subTab === 'tickets') {
      const page = await api('GET', `/api/v1/tickets?customer_id=${c.id}&limit=50`);
      clear(content).appendChild(ticketsTable(page.items));
    } else {
      const notes = await api('GET', `/api/v1/customers/${c.id}/notes`);
      clear(content).append(notesList(notes), noteForm(c));
    }
  } catch (err) {
    clear(content).appendChild(el('p', { class: 'muted' }, errorText(err)));
  }
}

function callsTable(c, calls) {
  if (!calls.length) return el('p', { class: 'muted' }, t('cust.no_calls'));
  const player = el('div', { class: 'player' });
  const rows = calls.map((call) => el('tr', { dataset: { testid: 'call-row', callId: call.call_id } },
    el('td', {}, fmtTime(call.start_time)),
    el('td', {}, label('dir', call.direction)),
    el('td', {}, call.direction === 'inbound' ? call.caller : call.called), // the customer's side
    el('td', {}, call.agent_id ?? ''),
    el('td', {}, fmtDuration(call.talk_seconds)),
    el('td', {}, label('outcome', call.outcome)),
    el('td', {}, businessLabel(call.business_category)),
    el('td', {}, call.recording
      ? el('button', { class: 'btn btn-small', type: 'button', dataset: { testid: 'play-recording' },
        onclick: () => {
          clear(player).appendChild(el('audio', { controls: true, autoplay: true, preload: 'none',
            src: `/api/v1/customers/${c.id}/calls/${encodeURIComponent(call.call_id)}/recording` }));
        } }, t('cust.play'))
      : el('span', { class: 'muted' }, t('cust.no_recording')))));
  return el('div', {}, player, el('table', { class: 'table' },
    el('thead', {}, el('tr', {}, ...['calls.time', 'calls.direction', 'calls.caller', 'calls.agent',
      'calls.talk', 'calls.outcome', 'calls.category', 'calls.recording'].map((k) => el('th', {}, t(k))))),
    el('tbody', {}, rows)));
}

function ticketsTable(items) {
  if (!items.length) return el('p', { class: 'muted' }, t('tk.no_results'));
  return el('table', { class: 'table' },
    el('thead', {}, el('tr', {}, ...['tk.number', 'tk.title', 'tk.category', 'tk.status', 'tk.due']
      .map((k) => el('th', {}, t(k))))),
    el('tbody', {}, items.map((tk) => el('tr', { class: `clickable${tk.overdue ? ' overdue' : ''}`,
      onclick: () => { emit('select-tab', 'tickets'); emit('open-ticket', tk.id); } },
    el('td', {}, tk.number), el('td', {}, tk.title), el('td', {}, ticketCategoryLabel(tk.category)),
    el('td', {}, label('status', tk.status)), el('td', {}, fmtTime(tk.due_at))))));
}

function notesList(notes) {
  if (!notes.length) return el('p', { class: 'muted' }, t('cust.no_notes'));
  return el('ul', { class: 'notes' }, notes.slice().reverse().map((n) => el('li', { dataset: { testid: 'note' } },
    el('div', { class: 'muted' }, `${fmtTime(n.created_at)} · ${n.author}`), el('div', { class: 'note-text' }, n.text))));
}

function noteForm(c) {
  const text = el('textarea', { rows: 2, maxlength: 2000, placeholder: t('cust.note_placeholder'), dataset: { testid: 'note-text' } });
  return el('form', { class: 'row', onsubmit: async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) return;
    const noteBody = { text: text.value.trim() };
    const callId = currentCallId();
    if (callId) noteBody.call_id = callId;
    if (await act('POST', `/api/v1/customers/${c.id}/notes`, noteBody)) loadTab();
  } }, text, el('button', { class: 'btn', type: 'submit', dataset: { testid: 'note-add' } }, t('cust.add_note')));
}

async function remove(c) {
  const ok = await confirmDialog(t('cust.delete_confirm', { name: c.name, account: c.account_no }),
    { danger: true, okText: t('cust.delete') });
  if (!ok) return;
  if (await act('DELETE', `/api/v1/customers/${c.id}`, undefined, t('cust.deleted'))) {
    view = { mode: 'empty' };
    S.customerId = null;
    render();
  }
}

// ------------------------------------------------------------------- form
function renderForm() {
  const c = view.customer;
  const pre = view.prefill;
  const fields = {};
  const errors = {};
  const input = (name, attrs, value) => {
    fields[name] = el('input', { name, ...attrs, dataset: { testid: `cf-${name}` } });
    fields[name].value = value ?? '';
    errors[name] = el('div', { class: 'field-error', dataset: { testid: `cf-${name}-error` } });
    return el('label', { class: 'field' }, el('span', {}, t(attrs.labelKey)), fields[name], errors[name]);
  };
  const src = c || pre;
  // an error is [i18n key, vars] (translated again after a language switch) or a server text
  const bad = (name, key, vars) => {
    view.errors = view.errors || {};
    view.errors[name] = [key, vars];
    errors[name].textContent = t(key, vars); // a server text is not a key: shown as it is
    fields[name].classList.add('invalid');
  };
  const formError = el('div', { class: 'form-error', role: 'alert', dataset: { testid: 'cf-error' } });
  const form = el('form', { class: 'card', novalidate: true, dataset: { testid: 'cust-form' } },
    el('h3', {}, c ? t('cust.form_edit') : t('cust.form_new')),
    view.fromCall ? el('p', { class: 'badge badge-warn', dataset: { testid: 'cf-from-call' } }, t('cust.from_call', { phone: view.fromCall })) : null,
    el('div', { class: 'form-grid' },
      input('account_no', { labelKey: 'cust.account_no', maxlength: 32 }, src.account_no),
      input('name', { labelKey: 'cust.name', maxlength: 128 }, src.name),
      input('phones', { labelKey: 'cust.phones', maxlength: 240, placeholder: t('cust.phones_hint') }, (src.phones || []).join(', ')),
      input('id_number', { labelKey: 'cust.id_number', maxlength: 18 }, src.id_number),
      input('address', { labelKey: 'cust.address', maxlength: 255 }, src.address),
      c ? null : input('balance', { labelKey: 'cust.balance', inputmode: 'decimal' }, '0')),
    formError,
    el('div', { class: 'form-actions' },
      el('button', { class: 'btn', type: 'button', onclick: () => (c ? openCustomer(c.id) : (view = { mode: 'empty' }, render())) }, t('common.cancel')),
      el('button', { class: 'btn btn-primary', type: 'submit', dataset: { testid: 'cf-save' } }, t('common.save'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const name of Object.keys(errors)) { errors[name].textContent = ''; fields[name].classList.remove('invalid'); }
    formError.textContent = '';
    view.errors = {};
    const account = fields.account_no.value.trim();
    const name = fields.name.value.trim();
    const phones = fields.phones.value.split(/[,，;；\s]+/).map((p) => p.trim()).filter(Boolean);
    const idNumber = fields.id_number.value.trim().toUpperCase();
    let valid = true;
    if (!RE.account.test(account)) { bad('account_no', 'cust.err_account'); valid = false; }
    if (!name) { bad('name', 'cust.err_name'); valid = false; }
    const wrong = phones.find((p) => !RE.phone.test(p));
    if (wrong) { bad('phones', 'cust.err_phone', { phone: wrong }); valid = false; }
    if (idNumber && !RE.id.test(idNumber)) { bad('id_number', 'cust.err_id'); valid = false; }
    let balanceFen = 0;
    if (!c) {
      const money = fields.balance.value.trim() || '0';
      if (!RE.money.test(money)) { bad('balance', 'cust.err_balance'); valid = false; }
      else balanceFen = Math.round(Number(money) * 100);
    }
    if (!valid) return;
    const payload = { account_no: account, name, phones, address: fields.address.value.trim(),
      id_number: idNumber || null };
    try {
      let saved;
      if (c) {
        saved = await api('PATCH', `/api/v1/customers/${c.id}`, payload);
        toast(t('cust.saved'), 'ok');
      } else {
        saved = await api('POST', '/api/v1/customers', { ...payload, balance_fen: balanceFen });
        toast(t('cust.created', { name: saved.name }), 'ok');
        emit('customer-created', saved);
      }
      openCustomer(saved.id);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'account_exists') {
        bad('account_no', 'cust.account_exists', { message: err.message });
      } else if (err instanceof ApiError && Array.isArray(err.details)) {
        for (const d of err.details) {
          const field = (d.loc || [])[1];
          const key = field === 'balance_fen' ? 'balance' : field;
          if (key && fields[key]) bad(key, d.msg);
        }
        formError.textContent = errorText(err);
      } else {
        formError.textContent = errorText(err);
      }
    }
  });
  body.appendChild(form);
  for (const [name, [key, vars]] of Object.entries(view.errors || {})) {
    if (fields[name]) bad(name, key, vars);
  }
  (c ? fields.name : fields[src.phones && src.phones.length ? 'account_no' : 'account_no']).focus();
}
