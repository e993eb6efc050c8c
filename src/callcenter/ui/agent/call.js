// The call panel: the screen pop of an offered call (before answering), answer / hang up,
// call controls (hold, transfer, consult, 3-way, play a voice string, record), click-to-dial,
// and the wrap-up form (code and notes) after the call.
import { ApiError, api } from '../common/api.js';
import { has, t } from '../common/i18n.js';
import { clear, confirmDialog, el, errorText, fmtDuration, toast } from '../common/ui.js';
import { S, act, businessLabel, emit, on, preserving } from './store.js';

const CONTROL_EVENTS = new Set(['CallHeld', 'CallResumed', 'CallTransferred', 'ConsultStarted',
  'ConsultEnded', 'ConferenceStarted', 'PlayStringStarted', 'RecordingStarted', 'RecordingPaused',
  'RecordingResumed', 'RecordingStopped', 'SupervisionStarted', 'SupervisionModeChanged',
  'SupervisionEnded', 'CallIntercepted', 'CallForceReleased']);

let box = null;
let wrapDraft = { code: '', notes: '' };
// Why the last dial failed ({key, target, code, message}), shown until the next dial; kept as
// keys so a language switch translates it.
let dialError = null;
const drafts = {};

// An input that keeps what was typed across re-renders.
function draft(tag, key, attrs) {
  const node = el(tag, { ...attrs, oninput: () => { drafts[key] = node.value; } });
  if (drafts[key] !== undefined) node.value = drafts[key];
  return node;
}

export function callPanel() {
  box = el('div', { class: 'panel call-panel', dataset: { testid: 'call-panel' } });
  on('event', onEvent);
  on('state', onState);
  on('resync', () => resyncCall());
  on('lang', () => preserving(box, render));
  on('tick', tickDuration);
  on('shortcut', (what) => {
    if (what === 'answer') answer();
    if (what === 'hangup') hangup();
  });
  on('dial', (req) => dial(req)); // a number, or {target, customer_id} from a customer record
  on('customer-created', (c) => {
    for (const target of [S.offer, S.call]) {
      if (target && target.pop && c.phones.includes(target.caller)) {
        target.pop.matches.push(c);
        target.customer_id = c.id;
      }
    }
    if (S.lastCall && !S.lastCall.customer_id) S.lastCall.customer_id = c.id;
    render();
  });
  render();
  return box;
}

function mineEvent(ev) {
  return S.agentId && String(ev.agent_id ?? ev.payload.agent_id ?? '') === String(S.agentId);
}

function currentId() {
  return (S.call && S.call.call_id) || (S.offer && S.offer.call_id) || null;
}

function onEvent(ev) {
  const p = ev.payload || {};
  if ((ev.type === 'OfferToAgent' || ev.type === 'CallOffered') && mineEvent(ev)) {
    startOffer(p.call_id, p.queue_id, p.category, p.caller, p.answer_mode);
  } else if (ev.type === 'CancelOffer' && mineEvent(ev) && S.offer && S.offer.call_id === p.call_id && !S.call) {
    if (p.reason !== 'answered') toast(t('call.missed', { reason: p.reason }), 'warn');
    S.offer = null;
    render();
  } else if (ev.type === 'CallBridged' && (mineEvent(ev) || ev.call_id === currentId())) {
    const same = (c) => c && c.call_id === ev.call_id;
    const base = (same(S.offer) && S.offer) || (same(S.call) && S.call) || { call_id: ev.call_id };
    // a dialled call is known by its id too: the bridge can come before the dial's reply
    S.call = { ...base, caller: p.caller || base.caller, category: p.category || base.category,
      customer_id: p.customer_id ?? base.customer_id ?? null,
      outbound: Boolean(base.outbound) || isOutbound(ev.call_id) };
    S.offer = null;
    S.answeredAt = Date.now();
    if (S.call.outbound) S.call.phase = 'talking'; // no call controls on a dialled call
    else refreshCallInfo();
    render();
  } else if (ev.type === 'CallClosed' && ev.call_id && ev.call_id === currentId()) {
    if (S.call && S.call.outbound && S.call.phase !== 'talking') {
      failDial({ key: 'call.dial_unanswered', target: S.call.caller });
    }
    endCall(ev.call_id);
  } else if (CONTROL_EVENTS.has(ev.type) && (ev.call_id === currentId() || mineEvent(ev))) {
    refreshCallInfo();
  }
}

function endCall(callId) {
  const c = S.call || S.offer || {};
  const wasUp = Boolean(S.call) && !(S.call.outbound && S.call.phase === 'calling_me');
  S.lastCall = { call_id: callId, queue: c.queue || (S.callInfo && S.callInfo.queue),
    customer_id: c.customer_id || selectedCustomer(), caller: c.caller };
  S.call = null;
  S.offer = null;
  S.callInfo = null;
  S.answeredAt = null;
  if (!wasUp) S.lastCall = null;
  wrapDraft = { code: c.category || '', notes: '' };
  emit('call-ended', callId);
  emit('refresh-state');
  render();
}

function selectedCustomer() {
  return S.customerId || null;
}

function onState(s) {
  if (!s) return;
  if (!s.logged_in) {
    S.offer = null;
    S.call = null;
    render();
    return;
  }
  const dialling = S.call && S.call.outbound && S.call.phase === 'calling_me';
  if (dialling && s.activity === 'on_call' && s.call_id === S.call.call_id) {
    S.call.phase = 'ringing'; // our phone answered: now the target rings
    render();
  } else if ((s.activity === 'ringing' || s.activity === 'reserved') && s.call_id && !S.offer && !S.call) {
    startOffer(s.call_id, null, null);
  } else if (s.activity === 'on_call' && s.call_id && (!S.call || S.call.call_id !== s.call_id)) {
    const base = S.offer && S.offer.call_id === s.call_id ? S.offer : { call_id: s.call_id };
    S.call = { ...base };
    S.offer = null;
    S.answeredAt = S.answeredAt || Date.now() - (s.time_in_state || 0) * 1000;
    if (isOutbound(s.call_id)) {
      S.call = { ...S.call, outbound: true, phase: 'up' }; // after a reload: target unknown
    } else {
      if (!S.call.pop) loadPop(S.call);
      refreshCallInfo();
    }
    render();
  } else if (dialling) {
    render(); // idle until our own phone answers: the call is not over
  } else if (!['ringing', 'reserved', 'on_call'].includes(s.activity) && (S.call || S.offer)) {
    const id = currentId();
    if (S.call) endCall(id);
    else { S.offer = null; render(); }
  } else {
    render();
  }
}

async function resyncCall() {
  if (S.state) onState(S.state);
}

async function startOffer(callId, queue, category, caller, mode) {
  if (S.call && S.call.call_id === callId) return;
  if (S.offer && S.offer.call_id === callId) { // OfferToAgent and CallOffered: one offer
    S.offer.queue = S.offer.queue || queue;
    S.offer.category = S.offer.category || category;
    S.offer.caller = S.offer.caller || caller;
    S.offer.mode = mode || S.offer.mode;
    render();
    return;
  }
  S.offer = { call_id: callId, queue, category, caller: caller || null, mode: mode || null, pop: null };
  render();
  await loadPop(S.offer);
}

async function loadPop(target) {
  for (let attempt = 0; attempt < 6; attempt += 1) {
    try {
      const pop = await api('GET', `/api/v1/customers/pop/${encodeURIComponent(target.call_id)}`);
      target.pop = pop;
      target.caller = pop.caller;
      target.queue = target.queue || pop.queue;
      target.category = target.category || pop.category;
      target.customer_id = pop.customer_id ?? (pop.matches.length === 1 ? pop.matches[0].id : null);
      render();
      emit('pop', { call_id: target.call_id, caller: pop.caller, matches: pop.matches,
        customer_id: target.customer_id });
      return;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) {
        toast(errorText(err), 'error');
        return;
      }
      await new Promise((r) => window.setTimeout(r, 400 * (attempt + 1)));
    }
  }
}

async function refreshCallInfo() {
  try {
    S.callInfo = await api('GET', '/api/v1/agent/call');
    if (S.call && S.callInfo) {
      S.call.caller = S.call.caller || S.callInfo.caller;
      S.call.queue = S.call.queue || S.callInfo.queue;
    }
  } catch (_) {
    S.callInfo = null; // 404: no call (or the call-control API is not there yet)
  }
  render();
}

// ----------------------------------------------------------------- actions
export async function answer() {
  if (!S.offer) return;
  try {
    const state = await api('POST', '/api/v1/agent/answer');
    S.state = state;
    S.stateAt = Date.now();
    emit('state', state);
  } catch (err) {
    const text = err instanceof ApiError && err.code === 'answer_on_phone'
      ? t('call.answer_on_phone') : t('err.generic', { message: errorText(err) });
    toast(text, 'warn');
  }
}

export async function hangup() {
  if (!S.call) return;
  await act('POST', '/api/v1/agent/hangup');
}

async function control(path, body, okText) {
  const out = await act('POST', `/api/v1/agent/call${path}`, body, okText);
  if (out && out.call_id) {
    S.callInfo = out;
    render();
  }
  return out;
}

// Calls placed from the desktop (calls/outbound.py) are keyed "out-<n>-<ms>".
function isOutbound(callId) {
  return String(callId || '').startsWith('out-');
}

function dialErrorText(e) {
  if (!e.code) return t(e.key, { target: e.target });
  const reason = has(`dialerr.${e.code}`) ? t(`dialerr.${e.code}`) : e.message;
  return t(e.key, { target: e.target, message: reason });
}

function failDial(e) {
  dialError = e;
  toast(dialErrorText(e), 'error', 6000);
  render();
}

// Click-to-dial: the server calls our phone first (auto-answer), then the target; the call
// goes calling_me -> ringing (our phone is up) -> talking (CallBridged) -> CallClosed.
async function dial(req) {
  const { target, customer_id: customerId } = req && typeof req === 'object' ? req : { target: req };
  const value = String(target || '').trim();
  dialError = null;
  if (!value) {
    toast(t('call.target_required'), 'warn');
    render();
    return;
  }
  if (!S.state || !S.state.logged_in) {
    failDial({ key: 'call.dial_not_logged_in', target: value });
    return;
  }
  if (S.call || S.offer) {
    failDial({ key: 'call.dial_busy', target: value });
    return;
  }
  const body = { target: value };
  if (customerId) body.customer_id = customerId;
  let out;
  try {
    out = await api('POST', '/api/v1/agent/call/dial', body);
  } catch (err) {
    const code = err instanceof ApiError ? err.code : 'network';
    failDial({ key: 'call.dial_failed', target: value, code, message: errorText(err) });
    return;
  }
  if (S.call && S.call.call_id === out.call_id) { // our phone answered before this reply
    S.call.outbound = true;
    S.call.caller = value;
    S.call.customer_id = customerId || null;
    if (S.call.phase === 'up') S.call.phase = 'ringing';
  } else {
    S.call = { call_id: out.call_id, caller: value, outbound: true, phase: 'calling_me',
      customer_id: customerId || null };
    S.answeredAt = null;
  }
  S.callInfo = null;
  toast(t('call.dialing', { target: value }), 'ok');
  render();
}

// ----------------------------------------------------------------- render
function info(labelKey, value, testid) {
  return el('div', { class: 'kv' }, el('span', { class: 'k' }, t(labelKey)),
    el('span', { class: 'v', dataset: testid ? { testid } : undefined }, value ?? ''));
}

function customerLine(target) {
  const pop = target.pop;
  if (!pop) return el('span', { class: 'muted' }, t('common.loading'));
  const id = target.customer_id;
  const found = pop.matches.find((m) => m.id === id);
  if (found) {
    return el('a', { href: '#', dataset: { testid: 'pop-customer' },
      onclick: (ev) => { ev.preventDefault(); emit('open-customer', found.id); } },
    `${found.name}（${found.account_no}）`);
  }
  if (pop.matches.length > 1) {
    return el('span', { dataset: { testid: 'pop-customer' } }, t('call.several', { n: pop.matches.length }));
  }
  return el('span', { class: 'badge badge-warn', dataset: { testid: 'pop-unknown' } }, t('call.unknown_caller'));
}

function render() {
  if (!box) return;
  clear(box);
  box.appendChild(el('h3', {}, t('call.title')));
  const s = S.state;
  if (!s || !s.logged_in) {
    box.appendChild(el('p', { class: 'muted' }, t('call.not_logged_in')));
    renderDialError();
    return;
  }
  if (S.offer) renderOffer();
  else if (S.call && S.call.outbound) renderOutbound();
  else if (S.call) renderCall();
  else if (S.lastCall && s.activity === 'wrap_up') renderWrapup();
  else renderIdle();
  if (S.lastCall && (S.call || S.offer || s.activity !== 'wrap_up')) {
    renderWrapup(true);
  }
}

function renderOffer() {
  const o = S.offer;
  box.appendChild(el('div', { class: 'pop ringing', dataset: { testid: 'pop', callId: o.call_id } },
    el('div', { class: 'pop-title' }, t('call.incoming')),
    el('div', { class: 'pop-number', dataset: { testid: 'pop-caller' } }, o.caller || '…'),
    info('call.category', businessLabel(o.category), 'pop-category'),
    info('call.queue', o.queue),
    el('div', { class: 'kv' }, el('span', { class: 'k' }, t('call.customer')), customerLine(o)),
    el('div', { class: 'row' },
      el('button', { class: 'btn btn-ok btn-big', type: 'button', dataset: { testid: 'btn-answer' },
        onclick: answer }, t('call.answer'), el('kbd', {}, 'Alt+A'))),
    o.mode === 'phone' ? el('div', { class: 'muted' }, t('call.answer_on_phone')) : null));
}

let durationNode = null;

function tickDuration() {
  if (durationNode && S.answeredAt) {
    durationNode.textContent = t('call.duration', { t: fmtDuration((Date.now() - S.answeredAt) / 1000) });
  }
}

function renderCall() {
  const c = S.call;
  const ci = S.callInfo;
  durationNode = el('div', { class: 'muted', dataset: { testid: 'call-duration' } });
  const head = el('div', { class: 'pop talking', dataset: { testid: 'oncall', callId: c.call_id } },
    el('div', { class: 'pop-title' }, ci && ci.held ? t('call.held') : t('call.on_call')),
    el('div', { class: 'pop-number', dataset: { testid: 'call-caller' } }, c.caller || (ci && ci.caller) || ''),
    durationNode,
    info('call.category', businessLabel(c.category || (ci && ci.category))),
    c.pop ? el('div', { class: 'kv' }, el('span', { class: 'k' }, t('call.customer')), customerLine(c)) : null);
  tickDuration();
  box.appendChild(head);
  if (ci && ci.supervised_by) {
    box.appendChild(el('div', { class: 'badge badge-info' }, t('call.supervised', { who: ci.supervised_by })));
  }
  const held = ci && ci.held;
  box.appendChild(el('div', { class: 'row controls' },
    el('button', { class: 'btn btn-danger', type: 'button', dataset: { testid: 'btn-hangup' }, onclick: hangup },
      t('call.hangup'), el('kbd', {}, 'Alt+H')),
    el('button', { class: 'btn', type: 'button', dataset: { testid: 'btn-hold' },
      onclick: () => control(held ? '/unhold' : '/hold') }, held ? t('call.unhold') : t('call.hold')),
    el('button', { class: 'btn', type: 'button', dataset: { testid: 'btn-call-ticket' },
      onclick: () => emit('new-ticket', { call_id: c.call_id, customer_id: c.customer_id }) }, t('call.new_ticket'))));
  // transfer / consult
  const kind = draft('select', 'kind', { dataset: { testid: 'xfer-kind' }, onchange: () => { drafts.kind = kind.value; } });
  kind.append(
    ...['agent', 'queue', 'extension', 'number'].map((k) => el('option', { value: k }, t(`call.kind_${k}`))));
  if (drafts.kind) kind.value = drafts.kind;
  const target = draft('input', 'target', { placeholder: t('call.target'), size: 10, dataset: { testid: 'xfer-target' } });
  const need = () => {
    if (!target.value.trim()) { toast(t('call.target_required'), 'warn'); return null; }
    return { kind: kind.value, target: target.value.trim() };
  };
  const consult = ci && ci.consult;
  const xfer = el('fieldset', { class: 'group' }, el('legend', {}, `${t('call.transfer')} / ${t('call.consult')}`),
    el('div', { class: 'row' }, kind, target),
    el('div', { class: 'row' },
      el('button', { class: 'btn', type: 'button', dataset: { testid: 'btn-transfer' },
        onclick: () => { const b = need(); if (b) control('/transfer', b, t('call.transfer')); } }, t('call.transfer')),
      el('button', { class: 'btn', type: 'button', dataset: { testid: 'btn-consult' }, disabled: Boolean(consult),
        onclick: () => { const b = need(); if (b) control('/consult', b); } }, t('call.consult'))));
  if (consult) {
    xfer.append(el('div', { class: 'badge badge-info' }, t('call.consult_state', { target: consult.target, state: consult.state })),
      el('div', { class: 'row' },
        el('button', { class: 'btn', type: 'button', onclick: () => control('/consult/transfer') }, t('call.consult_transfer')),
        el('button', { class: 'btn', type: 'button', onclick: () => control('/consult/conference') }, t('call.consult_conference')),
        el('button', { class: 'btn', type: 'button', onclick: () => control('/consult/cancel') }, t('call.consult_cancel'))));
  }
  box.appendChild(xfer);
  // play a voice string
  const text = draft('input', 'play', { placeholder: t('call.play_text'), maxlength: 500, dataset: { testid: 'play-text' } });
  box.appendChild(el('fieldset', { class: 'group' }, el('legend', {}, t('call.play')),
    el('div', { class: 'row' }, text,
      el('button', { class: 'btn', type: 'button', onclick: async () => {
        if (!text.value.trim()) return;
        if (await confirmDialog(t('call.play_confirm'))) control('/play-string', { text: text.value.trim() });
      } }, t('call.play')))));
  // record
  const recName = el('input', { placeholder: t('call.record_name'), size: 12, value: `rec-${c.call_id}`.slice(0, 60).replace(/[^A-Za-z0-9_.-]/g, '_') });
  const rec = ci && ci.recording;
  box.appendChild(el('fieldset', { class: 'group' }, el('legend', {}, t('call.record')),
    rec ? el('div', { class: 'badge badge-bad' }, t('call.recording', { name: rec })) : null,
    el('div', { class: 'row' },
      rec ? null : recName,
      rec ? null : el('button', { class: 'btn', type: 'button', onclick: () => control('/record', { name: recName.value.trim() || 'recording' }) }, t('call.record')),
      rec ? el('button', { class: 'btn', type: 'button', onclick: () => control('/record/pause') }, t('call.record_pause')) : null,
      rec ? el('button', { class: 'btn', type: 'button', onclick: () => control('/record/resume') }, t('call.record_resume')) : null,
      rec ? el('button', { class: 'btn', type: 'button', onclick: () => control('/record/stop') }, t('call.record_stop')) : null)));
}

function renderIdle() {
  box.appendChild(el('p', { class: 'muted idle-text', dataset: { testid: 'call-idle' } }, t('call.none')));
  const target = draft('input', 'dial', { placeholder: t('call.dial_target'), dataset: { testid: 'dial-target' }, maxlength: 32 });
  box.appendChild(el('form', { class: 'row', onsubmit: (ev) => { ev.preventDefault(); dial(target.value); } },
    target, el('button', { class: 'btn', type: 'submit', dataset: { testid: 'btn-dial' } }, t('call.dial'))));
  renderDialError();
}

function renderDialError() {
  if (!dialError) return;
  box.appendChild(el('div', { class: 'form-error dial-error', role: 'alert', dataset: { testid: 'dial-error' } },
    dialErrorText(dialError)));
}

function renderOutbound() {
  const c = S.call;
  durationNode = el('div', { class: 'muted', dataset: { testid: 'call-duration' } });
  const phase = c.phase || 'talking';
  const line = { calling_me: t('call.out_pickup'), ringing: t('call.out_ringing', { target: c.caller }),
    up: t('call.out_up'), talking: t('call.out_talking', { target: c.caller }) }[phase];
  box.appendChild(el('div', { class: `pop ${phase === 'talking' ? 'talking' : 'ringing'}`,
    dataset: { testid: 'oncall', callId: c.call_id, phase } },
  el('div', { class: 'pop-title' }, t('call.out_title', { target: c.caller || '' })),
  el('div', { class: 'pop-number', dataset: { testid: 'call-caller' } }, c.caller || ''),
  el('div', { dataset: { testid: 'call-phase' } }, line),
  phase === 'talking' ? durationNode : null));
  if (phase === 'talking' && !S.answeredAt) S.answeredAt = Date.now();
  tickDuration();
  // before our phone answers the ACD has no call of ours to hang up: the phone can refuse it
  box.appendChild(el('div', { class: 'row controls' },
    phase === 'calling_me' ? null : el('button', { class: 'btn btn-danger', type: 'button',
      dataset: { testid: 'btn-hangup' }, onclick: hangup }, t('call.hangup'), el('kbd', {}, 'Alt+H')),
    el('button', { class: 'btn', type: 'button', dataset: { testid: 'btn-call-ticket' },
      onclick: () => emit('new-ticket', { call_id: c.call_id, customer_id: c.customer_id }) }, t('call.new_ticket'))));
}

function renderWrapup(compact = false) {
  const last = S.lastCall;
  const codes = (S.meta && S.meta.business_categories) || [];
  const code = el('select', { dataset: { testid: 'wrap-code' }, onchange: () => { wrapDraft.code = code.value; } },
    el('option', { value: '' }, t('wrap.choose')),
    ...codes.map((c) => el('option', { value: c.code }, businessLabel(c.code))));
  code.value = wrapDraft.code || '';
  const notes = el('textarea', { rows: 3, maxlength: 2000, placeholder: t('wrap.notes'), dataset: { testid: 'wrap-notes' },
    oninput: () => { wrapDraft.notes = notes.value; } });
  notes.value = wrapDraft.notes;
  const save = async () => {
    let ok = true;
    if (code.value) {
      ok = Boolean(await act('POST', '/api/v1/agent/wrapup', { code: code.value, call_id: last.call_id }, t('wrap.code_saved'))) && ok;
    }
    if (notes.value.trim()) {
      const body = { text: notes.value.trim(), call_id: last.call_id };
      if (last.customer_id) body.customer_id = last.customer_id;
      const saved = await act('POST', '/api/v1/agent/notes', body, t('wrap.note_saved'));
      ok = Boolean(saved) && ok;
      if (saved) { wrapDraft.notes = ''; emit('notes-changed', last.customer_id); }
    }
    if (ok) {
      S.lastCall = null;
      render();
    }
  };
  box.appendChild(el('fieldset', { class: `group wrapup${compact ? ' compact' : ''}`, dataset: { testid: 'wrapup' } },
    el('legend', {}, `${t('wrap.title')} · ${last.caller || last.call_id}`),
    el('label', { class: 'field' }, el('span', {}, t('wrap.code')), code),
    el('label', { class: 'field' }, el('span', {}, t('wrap.notes')), notes),
    el('div', { class: 'row' },
      el('button', { class: 'btn btn-primary', type: 'button', dataset: { testid: 'wrap-save' }, onclick: save }, t('wrap.save')),
      el('button', { class: 'btn', type: 'button', dataset: { testid: 'btn-call-ticket' },
        onclick: () => emit('new-ticket', { call_id: last.call_id, customer_id: last.customer_id }) }, t('call.new_ticket')))));
}
