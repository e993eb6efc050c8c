// Shared state of the agent desktop and a tiny event bus between its panels.
import { ApiError, api } from '../common/api.js';
import { has, t } from '../common/i18n.js';
import { errorText, toast } from '../common/ui.js';

export const S = {
  me: null, // GET /auth/me
  agentId: null, // own agent id (null: a unit member without one)
  state: null, // GET /agent/state
  stateAt: 0, // Date.now() when state was fetched
  myDay: null, // GET /tickets/my-day
  meta: null, // GET /tickets/meta
  offer: null, // {call_id, queue, category, caller, pop}
  call: null, // {call_id, caller, ... from /agent/call or the pop}
  callInfo: null, // GET /agent/call answer (call-control API) or null
  lastCall: null, // {call_id, customer_id} of the call in wrap-up
  customerId: null, // customer shown in the customer panel
  answeredAt: null,
};

const handlers = {};

export function on(name, fn) {
  (handlers[name] = handlers[name] || []).push(fn);
}

export function emit(name, data) {
  for (const fn of handlers[name] || []) {
    try {
      fn(data);
    } catch (err) {
      console.error(`handler of ${name} failed`, err);
    }
  }
}

// Calls the API and shows failures as a toast; returns null on failure. A 404 on a route the
// server does not have yet (call control still being built) shows "not available".
export async function act(method, path, body, okText) {
  try {
    const out = await api(method, path, body);
    if (okText) toast(okText, 'ok');
    return out ?? {};
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code === 'not_found'
      && err.message === 'Not Found') {
      toast(t('common.not_available'), 'warn');
    } else {
      toast(t('err.generic', { message: errorText(err) }), 'error', 6000);
    }
    return null;
  }
}

// Label of a code through the i18n table (prefix.code), else the given fallback, else the code.
export function label(prefix, code, fallback) {
  if (code === null || code === undefined || code === '') return '';
  const key = `${prefix}.${code}`;
  if (has(key)) return t(key);
  return fallback || String(code);
}

export function businessLabel(code) {
  const found = S.meta && S.meta.business_categories.find((c) => c.code === code);
  return label('bcat', code, found && found.name);
}

export function ticketCategoryLabel(code) {
  const found = S.meta && S.meta.categories.find((c) => c.code === code);
  return label('tcat', code, found && found.name);
}

export function unitName(id) {
  const unit = S.meta && S.meta.units.find((u) => u.id === id);
  return unit ? unit.name : '';
}

export function yuan(fen) {
  const n = Number(fen) || 0;
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

// Re-render (e.g. after a language switch) without losing what was typed: values of inputs,
// selects and text areas with a data-testid are put back after ``renderFn`` (may be async).
export async function preserving(container, renderFn) {
  const values = {};
  container.querySelectorAll('input[data-testid], select[data-testid], textarea[data-testid]')
    .forEach((node) => {
      values[node.dataset.testid] = node.type === 'checkbox' ? node.checked : node.value;
    });
  await renderFn();
  for (const [testid, value] of Object.entries(values)) {
    const node = container.querySelector(`[data-testid="${testid}"]`);
    if (!node) continue;
    if (node.type === 'checkbox') node.checked = value;
    else node.value = value;
  }
}
