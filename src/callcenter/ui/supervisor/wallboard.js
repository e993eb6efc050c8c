// The wallboard: per-queue tiles, the agents table, callers waiting and alerts. The snapshot
// comes from GET /api/v1/reports/wallboard; events from the stream update agent states at once
// and trigger a (debounced) re-fetch of the figures; a reconnection (resync) re-fetches too.
// Times in state and waits tick locally between fetches.
import { api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { clear, el, errorText, fmtDuration, fmtTime, toast } from '../common/ui.js';
import {
  CALL_OPS, callOp, fetchSession, forceBusy, forceLogout, forceReady, internalCall, onSession,
  session, setSession,
} from './actions.js';
import { showWhy } from './why.js';

const PRESENCE_BADGE = { ready: 'badge-ok', busy: 'badge-busy', logged_out: '' };
const ACTIVITY_BADGE = {
  idle: '', reserved: 'badge-warn', ringing: 'badge-warn', on_call: 'badge-info', wrap_up: 'badge-warn',
};

function pct(value) {
  return value === null || value === undefined ? '—' : `${Math.round(value * 1000) / 10}%`;
}

function secs(value) {
  return value === null || value === undefined ? '—' : `${Math.round(value)}s`;
}

export function formulaText(name, target) {
  return t(`formula.${name}`, { t: target });
}

export function createWallboard(root, options = {}) {
  const tv = Boolean(options.tv);
  let snap = null;
  let fetchedAt = 0;
  let timer = null;
  let inFlight = false;
  let again = false;

  const ticking = () => (performance.now() - fetchedAt) / 1000;

  async function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    try {
      snap = await api('GET', '/api/v1/reports/wallboard');
      fetchedAt = performance.now();
      render();
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      inFlight = false;
      if (again) { again = false; schedule(); }
    }
  }

  function schedule(delay = 400) {
    if (timer !== null) return;
    timer = window.setTimeout(() => { timer = null; refresh(); }, delay);
  }

  // The supervisor's own session (监听/密语/强插/拦截): a panel with its mode and whether the
  // supervisor's phone has answered (polled while it rings), re-read from the server whenever
  // an event concerns its call; gone when the session or the call ends.
  let syncTimer = null;
  async function syncSession() {
    const s = session();
    if (!s) return;
    try {
      const now = await fetchSession(s.callId);
      if (session() !== s) return;  // changed meanwhile by an operation
      setSession(now && { callId: s.callId, agentId: s.agentId, mode: now.mode,
        answered: now.answered });
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }
  function watchSession(s) {
    renderSession();
    window.clearTimeout(syncTimer);
    if (s && !s.answered) syncTimer = window.setTimeout(syncSession, 700);
  }
  onSession(watchSession);

  function onEvent(ev) {
    const s = session();
    if (s && (ev.call_id || (ev.payload || {}).call_id) === s.callId) {
      window.clearTimeout(syncTimer);
      syncTimer = window.setTimeout(syncSession, 150);
    }
    if (snap && ev.type === 'AgentStateChanged') {
      const p = ev.payload || {};
      const row = snap.agents.find((a) => a.agent_id === String(p.agent_id));
      if (row) {
        Object.assign(row, { presence: p.presence, activity: p.activity, reason: p.reason || '',
          time_in_state: -ticking() });  // 0 now: ticks from the fetch time
        if (p.presence === 'logged_out') snap.agents = snap.agents.filter((a) => a !== row);
        renderAgents();
      }
    }
    schedule();
  }

  function tick() {
    if (!snap) return;
    const dt = ticking();
    root.querySelectorAll('[data-tick]').forEach((node) => {
      node.textContent = fmtDuration(Number(node.dataset.tick) + dt);
    });
  }
  const ticker = window.setInterval(tick, 1000);

  const alertsBox = el('div', { class: 'wb-alerts', dataset: { testid: 'wb-alerts' } });
  const sessionBox = el('div', { class: 'panel wb-session hidden', dataset: { testid: 'sup-session' } });
  const queuesBox = el('div', { class: 'wb-queues', dataset: { testid: 'wb-queues' } });
  const agentsBox = el('div', { class: 'panel wb-agents' });
  const waitingBox = el('div', { class: 'panel wb-waiting' });
  const footer = el('div', { class: 'muted wb-footer', dataset: { testid: 'wb-updated' } });
  root.append(alertsBox, sessionBox, queuesBox, el('div', { class: 'wb-lower' }, agentsBox, waitingBox), footer);

  function stat(field, label, value, extra) {
    return el('div', { class: `stat stat-${field}` },
      el('div', { class: 'stat-value', dataset: { field } }, value, extra || null),
      el('div', { class: 'stat-label' }, label));
  }

  function renderQueues() {
    clear(queuesBox);
    for (const q of snap.queues) {
      const below = q.service_level !== null && q.service_level * 100 < q.sl_target_percent;
      const waitAlert = q.longest_wait > snap.wait_alert_seconds;
      queuesBox.appendChild(el('div', {
        class: `panel wb-queue${below || waitAlert ? ' alert' : ''}`,
        dataset: { testid: `wb-queue-${q.queue}`, queue: q.queue },
      },
      el('h3', {}, q.display_name || q.queue, el('span', { class: 'muted' }, q.queue)),
      el('div', { class: 'stats' },
        stat('waiting', t('q.waiting'), q.waiting),
        el('div', { class: `stat stat-longest${waitAlert ? ' bad' : ''}` },
          el('div', { class: 'stat-value', dataset: { field: 'longest_wait' } },
            q.waiting ? el('span', { dataset: { tick: q.longest_wait } },
              fmtDuration(q.longest_wait)) : fmtDuration(0)),
          el('div', { class: 'stat-label' }, t('q.longest'))),
        stat('offered', t('q.offered'), q.offered),
        stat('answered', t('q.answered'), q.answered),
        stat('abandoned', t('q.abandoned'), q.abandoned),
        stat('overflowed', t('q.overflowed'), q.overflowed),
        el('div', { class: `stat stat-sl${below ? ' bad' : ' good'}` },
          el('div', { class: 'stat-value', dataset: { field: 'service_level' } }, pct(q.service_level)),
          el('div', { class: 'stat-label' }, t('q.sl'), ' ',
            t('q.sl_target', { p: q.sl_target_percent, t: q.sl_target_seconds }))),
        stat('asa', t('q.asa'), secs(q.asa)),
        stat('ready', t('q.ready'), q.agents_ready),
        stat('busy', t('q.busy'), q.agents_busy),
        stat('on_call', t('q.on_call'), q.agents_on_call),
        stat('wrap_up', t('q.wrap_up'), q.agents_wrap_up)),
      el('div', { class: 'muted formula', dataset: { testid: 'wb-formula' } },
        t('q.formula', { text: formulaText(snap.formula.name, q.sl_target_seconds) }))));
    }
  }

  function btn(key, onclick, cls = '') {
    return el('button', {
      class: `btn btn-small ${cls}`, type: 'button', dataset: { testid: `act-${key}` },
      onclick: async (ev) => { ev.stopPropagation(); await onclick(); schedule(100); },
    }, t(`act.${key}`));
  }

  function agentActions(a) {
    const box = el('div', { class: 'row wb-actions' });
    if (a.call_id) {
      for (const op of CALL_OPS) {
        box.appendChild(btn(op, () => callOp(op, a.call_id, a.agent_id),
          op === 'release' || op === 'intercept' ? 'btn-warn' : ''));
      }
      box.appendChild(btn('why', () => showWhy(a.call_id)));
    }
    if (a.presence === 'busy') box.appendChild(btn('force_ready', () => forceReady(a.agent_id)));
    else box.appendChild(btn('force_busy', () => forceBusy(a.agent_id)));
    box.appendChild(btn('force_logout', () => forceLogout(a.agent_id), 'btn-danger'));
    box.appendChild(btn('dial', () => internalCall(a.agent_id)));
    return box;
  }

  function renderSession() {
    const s = tv ? null : session();
    clear(sessionBox);
    sessionBox.classList.toggle('hidden', !s);
    sessionBox.dataset.mode = s ? s.mode : '';
    sessionBox.dataset.call = s ? s.callId : '';
    sessionBox.dataset.answered = s ? String(s.answered) : '';
    if (!s) return;
    const ops = s.mode === 'intercept' ? ['release']
      : CALL_OPS.filter((op) => op !== s.mode);
    sessionBox.append(
      el('h3', {}, t('sess.title')),
      el('div', { class: 'row' },
        el('span', { class: 'badge badge-info', dataset: { testid: 'sess-mode' } },
          t(`sess.mode.${s.mode}`, { agent: s.agentId || '' })),
        el('span', { class: `badge ${s.answered ? 'badge-ok' : 'badge-warn'}`,
          dataset: { testid: 'sess-phone' } }, t(s.answered ? 'sess.connected' : 'sess.ringing')),
        el('span', { class: 'muted' }, s.callId)),
      el('div', { class: 'row wb-actions' }, ops.map((op) => el('button', {
        class: `btn btn-small${op === 'release' || op === 'intercept' ? ' btn-warn' : ''}`,
        type: 'button', dataset: { testid: `sess-${op}` },
        // switching modes needs the supervisor's phone up (the server says 409 otherwise)
        disabled: !s.answered && ['monitor', 'whisper', 'barge'].includes(op),
        onclick: async () => { await callOp(op, s.callId, s.agentId); schedule(100); },
      }, t(`act.${op}`)))));
  }

  function renderAgents() {
    clear(agentsBox);
    agentsBox.appendChild(el('h3', {}, t('sup.agents'), el('span', { class: 'badge' }, snap.agents.length)));
    if (!snap.agents.length) {
      agentsBox.appendChild(el('p', { class: 'muted' }, t('sup.no_agents')));
      return;
    }
    const dt = ticking();
    const head = ['a.agent', 'a.name', 'a.seat', 'a.presence', 'a.activity', 'a.time', 'a.caller',
      'a.queue', 'a.handled', 'a.reason'];
    if (!tv) head.push('a.actions');
    agentsBox.appendChild(el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
      el('thead', {}, el('tr', {}, head.map((k) => el('th', {}, t(k))))),
      el('tbody', {}, snap.agents.map((a) => el('tr', { dataset: { testid: `wb-agent-${a.agent_id}` } },
        el('td', {}, a.agent_id),
        el('td', {}, a.name),
        el('td', {}, a.seat),
        el('td', {}, el('span', { class: `badge ${PRESENCE_BADGE[a.presence] || ''}`,
          dataset: { field: 'presence', value: a.presence } }, t(`presence.${a.presence}`))),
        el('td', {}, el('span', { class: `badge ${ACTIVITY_BADGE[a.activity] || ''}`,
          dataset: { field: 'activity', value: a.activity } }, t(`activity.${a.activity}`))),
        el('td', { dataset: { tick: a.time_in_state, field: 'time' } },
          fmtDuration(a.time_in_state + dt)),
        el('td', {}, a.caller || ''),
        el('td', {}, a.queue || ''),
        el('td', { dataset: { field: 'handled' } }, a.calls_handled),
        el('td', { dataset: { field: 'reason' } }, a.presence === 'busy' ? a.reason : ''),
        tv ? null : el('td', {}, agentActions(a))))))));
  }

  function renderWaiting() {
    clear(waitingBox);
    waitingBox.appendChild(el('h3', {}, t('sup.waiting_calls'),
      el('span', { class: 'badge' }, snap.waiting.length)));
    if (!snap.waiting.length) {
      waitingBox.appendChild(el('p', { class: 'muted' }, t('sup.no_waiting')));
      return;
    }
    const head = ['w.queue', 'w.caller', 'w.waited', 'w.priority'];
    if (!tv) head.push('a.actions');
    waitingBox.appendChild(el('table', { class: 'table' },
      el('thead', {}, el('tr', {}, head.map((k) => el('th', {}, t(k))))),
      el('tbody', {}, snap.waiting.map((w) => el('tr', { dataset: { testid: `wb-call-${w.call_id}` } },
        el('td', {}, w.queue), el('td', {}, w.caller || ''),
        el('td', { dataset: { tick: w.waited } }, fmtDuration(w.waited)),
        el('td', {}, w.priority),
        tv ? null : el('td', {}, w.offered_to.length ? btn('why', () => showWhy(w.call_id)) : null))))));
  }

  function renderAlerts() {
    clear(alertsBox);
    if (!snap.alerts.length) {
      alertsBox.appendChild(el('span', { class: 'badge badge-ok' }, t('sup.no_alerts')));
      return;
    }
    for (const a of snap.alerts) {
      alertsBox.appendChild(el('div', { class: 'wb-alert', dataset: { testid: `wb-alert-${a.queue}-${a.kind}` } },
        t(`sup.alert.${a.kind}`, { queue: a.queue, value: a.value, threshold: a.threshold })));
    }
  }

  function render() {
    if (!snap) return;
    renderAlerts();
    renderSession();
    renderQueues();
    renderAgents();
    renderWaiting();
    footer.textContent = `${t('sup.updated', { time: fmtTime(snap.at) })} · ${snap.timezone}`;
  }

  window.addEventListener('langchange', render);
  return {
    refresh, onEvent, render,
    stop() { window.clearInterval(ticker); },
  };
}
