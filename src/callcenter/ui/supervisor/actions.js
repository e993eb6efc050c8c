// Supervisor actions on agents and calls: each asks for confirmation where it is destructive
// and shows its result as a toast. Call operations follow the supervise.py contract
// (POST /api/v1/supervisor/calls/{call_id}/<op>); until the server offers one it answers 404
// and the toast says so. The supervisor's own session (mode, phone answered) is kept here.
import { ApiError, api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { confirmDialog, errorText, toast } from '../common/ui.js';

function unavailable(err) {
  return err instanceof ApiError && (err.status === 405
    || (err.status === 404 && err.code === 'not_found' && /not found/i.test(err.message)));
}

async function run(actionKey, fn) {
  const action = t(actionKey);
  try {
    const result = await fn();
    toast(t('act.done', { action }), 'ok');
    return result;
  } catch (err) {
    if (unavailable(err)) toast(t('act.not_available', { action }), 'warn');
    else toast(t('act.failed', { action, message: errorText(err) }), 'error');
    return null;
  }
}

export const CALL_OPS = ['monitor', 'whisper', 'barge', 'intercept', 'release', 'leave'];
const CONFIRM = { intercept: 'act.confirm_intercept', release: 'act.confirm_release' };
const JOIN = new Set(['monitor', 'whisper', 'barge', 'intercept']);

// The supervisor's own session on a call: {callId, agentId, mode, answered} or null. Set by
// the operations below, kept up to date by the wallboard (events, GET .../calls/{id}), shown
// in its session panel; listeners are called on every change.
let current = null;
const listeners = new Set();

export function session() { return current; }

export function onSession(fn) { listeners.add(fn); }

export function setSession(value) {
  current = value;
  for (const fn of listeners) fn(current);
}

export async function callOp(op, callId, agentId) {
  if (CONFIRM[op]) {
    const ok = await confirmDialog(t(CONFIRM[op], { agent: agentId }), { danger: true });
    if (!ok) return null;
  }
  const body = op === 'monitor' ? { record: false } : {};
  const result = await run(`act.${op}`, () => api('POST',
    `/api/v1/supervisor/calls/${encodeURIComponent(callId)}/${op}`, body));
  if (result && JOIN.has(op)) {
    const agent = current && current.callId === callId ? current.agentId : agentId;
    setSession({ callId, agentId: agent, mode: result.mode || op, answered: Boolean(result.answered) });
  } else if (result && current && current.callId === callId) {
    setSession(null);  // left or released
  }
  return result;
}

// The session as the server sees it now (null: the call or the session is over).
export async function fetchSession(callId) {
  try {
    const s = await api('GET', `/api/v1/supervisor/calls/${encodeURIComponent(callId)}`);
    return s.mode ? s : null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export async function forceBusy(agentId) {
  const ok = await confirmDialog(t('act.confirm_busy', { agent: agentId }));
  if (!ok) return null;
  return run('act.force_busy', () => api('POST',
    `/api/v1/supervisor/agents/${agentId}/force-busy`, { reason: 'supervisor' }));
}

export async function forceReady(agentId) {
  return run('act.force_ready', () => api('POST',
    `/api/v1/supervisor/agents/${agentId}/force-ready`));
}

export async function forceLogout(agentId) {
  const ok = await confirmDialog(t('act.confirm_logout', { agent: agentId }), { danger: true });
  if (!ok) return null;
  return run('act.force_logout', () => api('POST',
    `/api/v1/supervisor/agents/${agentId}/force-logout`));
}

export async function internalCall(agentId) {
  return run('act.dial', () => api('POST', '/api/v1/agent/call/dial', { target: agentId }));
}
