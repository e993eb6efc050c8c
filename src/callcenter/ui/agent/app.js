// The agent desktop: log in, sign in as an agent (seat, answer mode), the state bar with
// today's figures, the call panel (screen pop, answer, call controls, wrap-up), customers and
// complaint tickets; live over the event stream (reconnects and resyncs by itself).
import './i18n.js';
import { ApiError, api, logout, me } from '../common/api.js';
import { connectEvents } from '../common/events.js';
import { applyI18n, langSwitch, t } from '../common/i18n.js';
import { loginForm } from '../common/login.js';
import { clear, confirmDialog, el, errorText, fmtDuration, toast } from '../common/ui.js';
import { S, act, emit, label, on } from './store.js';
import { callPanel } from './call.js';
import { customerPanel } from './customers.js';
import { ticketPanel } from './tickets.js';

const root = document.getElementById('app');
const BUSY_REASONS = ['busy', 'rest', 'meal', 'meeting', 'training'];
let stream = null;

// ------------------------------------------------------------------ boot
async function boot() {
  clear(root);
  let who = null;
  try {
    who = await me();
  } catch (err) {
    toast(errorText(err), 'error');
  }
  if (!who) {
    showLogin();
    return;
  }
  S.me = who;
  S.agentId = who.agent_id;
  if (S.agentId) {
    await refreshState();
    if (!S.state || !S.state.logged_in) {
      showAgentLogin();
      return;
    }
  }
  await startDesktop();
}

function showLogin() {
  clear(root);
  root.appendChild(el('div', { class: 'login-wrap' },
    loginForm({ titleKey: 'app.title', onSuccess: () => boot() })));
}

function showAgentLogin() {
  clear(root);
  const saved = (name, fallback) => window.localStorage.getItem(`cc.agent.${name}`) ?? fallback;
  const agentId = el('input', { name: 'agent_id', value: S.agentId, inputmode: 'numeric',
    dataset: { testid: 'alogin-agent' } });
  const seat = el('input', { name: 'seat', value: saved('seat', ''), inputmode: 'numeric',
    dataset: { testid: 'alogin-seat' }, maxlength: 8 });
  const password = el('input', { type: 'password', name: 'password', autocomplete: 'current-password' });
  const category = el('select', { name: 'category' },
    el('option', { value: 'agent', dataset: { i18n: 'alogin.cat_agent' } }),
    el('option', { value: 'supervisor', dataset: { i18n: 'alogin.cat_supervisor' } }));
  const mode = el('select', { name: 'answer_mode', dataset: { testid: 'alogin-mode' } },
    el('option', { value: 'desktop', dataset: { i18n: 'alogin.mode_desktop' } }),
    el('option', { value: 'phone', dataset: { i18n: 'alogin.mode_phone' } }));
  mode.value = saved('mode', 'desktop');
  const ready = el('input', { type: 'checkbox', name: 'ready', checked: saved('ready', '1') === '1',
    dataset: { testid: 'alogin-ready' } });
  const error = el('div', { class: 'form-error', role: 'alert', dataset: { testid: 'alogin-error' } });
  const submit = el('button', { class: 'btn btn-primary', type: 'submit',
    dataset: { i18n: 'alogin.submit', testid: 'alogin-submit' } });
  const field = (key, input) => el('label', { class: 'field' }, el('span', { dataset: { i18n: key } }), input);
  const form = el('form', { class: 'card login-card', novalidate: true },
    el('div', { class: 'login-head' }, el('h2', { dataset: { i18n: 'alogin.title' } }), langSwitch()),
    el('p', { class: 'muted' }, S.me.user.display_name || S.me.user.username),
    field('alogin.agent_id', agentId), field('alogin.seat', seat),
    field('alogin.password', password), field('alogin.category', category),
    field('alogin.answer_mode', mode),
    el('label', { class: 'field inline' }, ready, el('span', { dataset: { i18n: 'alogin.ready' } })),
    error,
    el('div', { class: 'form-actions' },
      el('button', { class: 'btn', type: 'button', dataset: { i18n: 'common.logout' },
        onclick: doLogout }),
      submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    seat.classList.toggle('invalid', !/^[0-9]{1,8}$/.test(seat.value.trim()));
    if (!/^[0-9]{1,8}$/.test(seat.value.trim())) {
      error.textContent = t('alogin.seat_required');
      return;
    }
    const body = {
      agent_id: agentId.value.trim(), seat: seat.value.trim(), category: category.value,
      ready: ready.checked, answer_mode: mode.value,
    };
    if (password.value) body.password = password.value;
    submit.disabled = true;
    try {
      let state;
      try {
        state = await api('POST', '/api/v1/agent/login', body);
      } catch (err) {
        // a server without desktop answering refuses the field: sign in without it
        if (err instanceof ApiError && err.status === 422 && JSON.stringify(err.details || '')
          .includes('answer_mode')) {
          delete body.answer_mode;
          state = await api('POST', '/api/v1/agent/login', body);
        } else {
          throw err;
        }
      }
      window.localStorage.setItem('cc.agent.seat', body.seat);
      window.localStorage.setItem('cc.agent.mode', mode.value);
      window.localStorage.setItem('cc.agent.ready', ready.checked ? '1' : '0');
      S.state = state;
      S.stateAt = Date.now();
      await startDesktop();
    } catch (err) {
      error.textContent = t('alogin.failed', { message: errorText(err) });
    } finally {
      submit.disabled = false;
    }
  });
  applyI18n(form);
  window.addEventListener('langchange', () => applyI18n(form));
  root.appendChild(el('div', { class: 'login-wrap' }, form));
  seat.focus();
}

async function doLogout() {
  if (stream) stream.close();
  stream = null;
  await logout().catch(() => {});
  window.location.reload();
}

// ----------------------------------------------------------------- state
export async function refreshState() {
  if (!S.agentId) return;
  try {
    S.state = await api('GET', '/api/v1/agent/state');
    S.stateAt = Date.now();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      window.location.reload();
      return;
    }
    toast(errorText(err), 'error');
  }
  emit('state', S.state);
}

export async function refreshMyDay() {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  try {
    S.myDay = await api('GET', `/api/v1/tickets/my-day?since=${encodeURIComponent(start.toISOString())}`);
  } catch (_) { /* figures are optional */ }
  emit('myday', S.myDay);
}

async function loadMeta() {
  try {
    S.meta = await api('GET', '/api/v1/tickets/meta');
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

// ------------------------------------------------------------- desktop
async function startDesktop() {
  clear(root);
  await loadMeta();
  const unitMode = !S.agentId;
  document.body.classList.toggle('unit-mode', unitMode);
  const conn = el('span', { class: 'conn off', dataset: { testid: 'conn' } }, '…');
  const top = el('header', { class: 'topbar' },
    el('span', { class: 'title', dataset: { i18n: unitMode ? 'app.unit_title' : 'app.title' } }),
    el('span', { class: 'who', dataset: { testid: 'who' } }),
    el('span', { class: 'spacer' }),
    conn,
    el('button', { class: 'btn btn-ghost btn-small', type: 'button', onclick: showShortcuts,
      dataset: { i18n: 'top.shortcuts' } }),
    langSwitch(),
    el('button', { class: 'btn btn-ghost btn-small', type: 'button', onclick: doLogout,
      dataset: { i18n: 'common.logout', testid: 'logout' } }));
  const tabs = el('div', { class: 'tabs' });
  const panes = el('div', { class: 'panes' });
  const customers = customerPanel();
  const tickets = ticketPanel({ unitMode });
  const tabList = unitMode
    ? [['tickets', 'tab.tickets', tickets], ['customers', 'tab.customers', customers]]
    : [['customers', 'tab.customers', customers], ['tickets', 'tab.tickets', tickets]];
  const tabButtons = {};
  function select(name) {
    for (const [key, , pane] of tabList) {
      pane.classList.toggle('hidden', key !== name);
      tabButtons[key].classList.toggle('active', key === name);
    }
  }
  for (const [key, i18n, pane] of tabList) {
    tabButtons[key] = el('button', { class: 'tab', type: 'button', dataset: { i18n, testid: `tab-${key}` },
      onclick: () => select(key) });
    tabs.appendChild(tabButtons[key]);
    panes.appendChild(pane);
  }
  select(unitMode ? 'tickets' : 'customers');
  on_select = select;
  const main = unitMode
    ? el('main', { class: 'layout layout-unit' }, el('section', { class: 'work' }, tabs, panes))
    : el('main', { class: 'layout' },
      el('aside', { class: 'side' }, callPanel()),
      el('section', { class: 'work' }, tabs, panes));
  root.append(...[top, unitMode ? null : stateBar(), main].filter(Boolean));
  applyI18n(root);
  renderWho();
  const showConn = (status) => {
    const up = status === 'open' || status === 'resync';
    conn.classList.toggle('off', !up);
    conn.textContent = up ? t('common.online') : t('common.offline');
    conn.dataset.status = status;
  };
  window.addEventListener('langchange', () => {
    applyI18n(root);
    renderWho();
    if (conn.dataset.status) showConn(conn.dataset.status);
    emit('lang');
  });
  stream = connectEvents(onEvent, {
    onStatus: (status) => {
      showConn(status);
      if (status === 'resync') resync(true);
      if (status === 'unauthenticated') window.location.reload();
    },
  });
  window.ccStream = stream; // tests drop the connection to check the resync
  await resync(false);
  window.setInterval(tick, 1000);
  window.setInterval(refreshMyDay, 60000);
  installShortcuts();
  document.body.dataset.ready = '1';
}

let on_select = () => {};
export function selectTab(name) {
  on_select(name);
}
on('select-tab', (name) => selectTab(name));
on('refresh-state', () => refreshState());
on('refresh-myday', () => refreshMyDay());

function renderWho() {
  const node = root.querySelector('[data-testid="who"]');
  if (!node) return;
  const name = S.me.user.display_name || S.me.user.username;
  node.textContent = S.state && S.state.logged_in
    ? `${name} · ${t('top.agent', { agent: S.state.agent_id, seat: S.state.seat })}`
    : name;
}

async function resync(announce) {
  await Promise.all([refreshState(), refreshMyDay()]);
  emit('resync');
  if (announce) toast(t('events.resynced'), 'info', 2500);
}

function onEvent(ev) {
  emit('event', ev);
  const mine = S.agentId && String(ev.agent_id ?? ev.payload.agent_id ?? '') === String(S.agentId);
  if (ev.type === 'AgentStateChanged' && mine) {
    refreshState();
  } else if (ev.type === 'PresenceChangeDeferred' && mine) {
    refreshState();
  } else if (ev.type === 'CallClosed' || ev.type === 'TicketCreated') {
    refreshMyDay();
  }
}

// -------------------------------------------------------------- state bar
function stateBar() {
  const badge = el('span', { class: 'badge state-badge', dataset: { testid: 'state' } });
  const time = el('span', { class: 'muted', dataset: { testid: 'state-time' } });
  const pending = el('span', { class: 'badge badge-warn hidden', dataset: { testid: 'state-pending' } });
  const reason = el('select', { class: 'reason', dataset: { testid: 'busy-reason' } });
  const fillReasons = () => {
    const keep = reason.value;
    clear(reason);
    for (const r of BUSY_REASONS) reason.appendChild(el('option', { value: r }, label('reason', r)));
    reason.value = keep || 'busy';
  };
  fillReasons();
  const readyBtn = el('button', { class: 'btn btn-ok', type: 'button', dataset: { testid: 'btn-ready' },
    title: 'Alt+R', onclick: () => setReady() },
  el('span', { dataset: { i18n: 'state.ready_btn' } }), el('kbd', {}, 'Alt+R'));
  const busyBtn = el('button', { class: 'btn btn-warn', type: 'button', dataset: { testid: 'btn-busy' },
    title: 'Alt+B', onclick: () => setBusy(reason.value) },
  el('span', { dataset: { i18n: 'state.busy_btn' } }), el('kbd', {}, 'Alt+B'));
  const endWrap = el('button', { class: 'btn hidden', type: 'button', dataset: { i18n: 'state.end_wrapup', testid: 'btn-end-wrapup' },
    onclick: () => endWrapup() });
  const signOut = el('button', { class: 'btn btn-ghost', type: 'button', dataset: { i18n: 'state.logout', testid: 'btn-signout' },
    onclick: async () => {
      if (!(await confirmDialog(t('state.logout_confirm')))) return;
      const out = await act('POST', '/api/v1/agent/logout');
      if (out) {
        S.state = out;
        showAgentLogin();
        if (stream) stream.close();
      }
    } });
  const figures = el('span', { class: 'myday', dataset: { testid: 'myday' } });
  const bar = el('div', { class: 'statebar' }, badge, time, pending, el('span', { class: 'spacer' }),
    figures, el('span', { class: 'sep' }), reason, busyBtn, readyBtn, endWrap, signOut);

  function render() {
    const s = S.state;
    if (!s) return;
    const view = stateView(s);
    badge.textContent = view.text;
    badge.className = `badge state-badge ${view.cls}`;
    badge.dataset.state = view.key;
    pending.classList.toggle('hidden', s.pending !== 'busy');
    pending.textContent = t('state.pending_busy');
    endWrap.classList.toggle('hidden', s.activity !== 'wrap_up');
    readyBtn.disabled = !s.logged_in || (s.presence === 'ready' && s.pending !== 'busy');
    busyBtn.disabled = !s.logged_in || s.presence === 'busy';
    tick();
    renderWho();
  }
  function renderFigures() {
    const d = S.myDay;
    const s = S.state || {};
    const calls = d ? d.calls_answered : s.calls_answered || 0;
    const talk = d ? d.talk_seconds : s.talk_time || 0;
    const avg = d ? d.average_talk_seconds : (calls ? talk / calls : 0);
    clear(figures).append(
      el('b', {}, t('myday.title')), ' ',
      el('span', { dataset: { testid: 'myday-calls' } }, t('myday.calls', { n: calls })), ' · ',
      t('myday.talk', { t: fmtDuration(talk) }), ' · ',
      t('myday.avg', { t: fmtDuration(avg) }), ' · ',
      el('span', { dataset: { testid: 'myday-tickets' } },
        t('myday.tickets', { n: d ? d.tickets_created : 0, open: d ? d.tickets_open : 0 })));
  }
  {
    on('state', render);
    on('myday', renderFigures);
    on('lang', () => { fillReasons(); render(); renderFigures(); });
    on('tick', () => {
      const s = S.state;
      if (!s || !s.logged_in) { time.textContent = ''; return; }
      const inState = (s.time_in_state || 0) + (Date.now() - S.stateAt) / 1000;
      time.textContent = t('state.time', { time: fmtDuration(inState) });
      if (s.activity === 'wrap_up') {
        const total = wrapupSeconds();
        if (total !== null) {
          badge.textContent = t('state.wrap_up_left', { left: fmtDuration(Math.max(0, total - inState)) });
        }
      }
    });
  }
  return bar;
}

function wrapupSeconds() {
  const d = S.myDay;
  if (!d || !d.wrapup_seconds) return null;
  const queue = S.lastCall && S.lastCall.queue;
  if (queue && queue in d.wrapup_seconds) return d.wrapup_seconds[queue];
  const values = Object.values(d.wrapup_seconds);
  return values.length ? Math.max(...values) : null;
}

export function stateView(s) {
  if (!s.logged_in) return { key: 'logged_out', text: t('state.logged_out'), cls: '' };
  if (['reserved', 'ringing', 'on_call', 'wrap_up'].includes(s.activity)) {
    const cls = { ringing: 'badge-warn', reserved: 'badge-warn', on_call: 'badge-info', wrap_up: 'badge-busy' }[s.activity];
    return { key: s.activity, text: t(`state.${s.activity}`), cls };
  }
  if (s.presence === 'busy') {
    return { key: 'busy', text: t('state.busy_reason', { reason: label('reason', s.reason) || s.reason }), cls: 'badge-bad' };
  }
  return { key: 'ready', text: t('state.ready'), cls: 'badge-ok' };
}

function tick() {
  emit('tick');
}

export async function setReady() {
  const out = await act('POST', '/api/v1/agent/ready');
  if (out) { S.state = out; S.stateAt = Date.now(); emit('state', out); }
}

export async function setBusy(reason) {
  const sel = root.querySelector('[data-testid="busy-reason"]');
  const out = await act('POST', '/api/v1/agent/busy', { reason: reason || (sel && sel.value) || 'busy', defer: true });
  if (out) { S.state = out; S.stateAt = Date.now(); emit('state', out); }
}

async function endWrapup() {
  const out = await act('POST', '/api/v1/agent/wrapup/end');
  if (out) { S.state = out; S.stateAt = Date.now(); emit('state', out); }
}

// -------------------------------------------------------------- shortcuts
const SHORTCUTS = [
  ['Alt+A', 'shortcuts.answer'],
  ['Alt+H', 'shortcuts.hangup'],
  ['Alt+R', 'shortcuts.ready'],
  ['Alt+B', 'shortcuts.busy'],
  ['Alt+F', 'shortcuts.search'],
  ['Alt+K', 'shortcuts.help'],
];

function installShortcuts() {
  document.addEventListener('keydown', (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const key = ev.key.toLowerCase();
    const code = ev.code;
    const is = (letter) => key === letter || code === `Key${letter.toUpperCase()}`;
    let handled = true;
    if (is('a') && S.agentId) emit('shortcut', 'answer');
    else if (is('h') && S.agentId) emit('shortcut', 'hangup');
    else if (is('r') && S.agentId) setReady();
    else if (is('b') && S.agentId) setBusy();
    else if (is('f')) { selectTab('customers'); emit('shortcut', 'search'); }
    else if (is('k')) showShortcuts();
    else handled = false;
    if (handled) ev.preventDefault();
  });
}

function showShortcuts() {
  const rows = SHORTCUTS.map(([keys, k]) => el('tr', {}, el('td', {}, el('kbd', {}, keys)), el('td', {}, t(k))));
  const overlay = el('div', { class: 'modal-overlay', onclick: (ev) => { if (ev.target === overlay) overlay.remove(); } },
    el('div', { class: 'modal', role: 'dialog', dataset: { testid: 'shortcuts' } },
      el('h3', {}, t('shortcuts.title')),
      el('table', { class: 'table' }, el('tbody', {}, rows)),
      el('div', { class: 'modal-actions' },
        el('button', { class: 'btn btn-primary', type: 'button', onclick: () => overlay.remove() }, t('common.close')))));
  document.body.appendChild(overlay);
}

boot();
