// "Why this agent?": the ACD's decision record of each offer of a call, in a modal.
import { api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { el, errorText, fmtTime, toast } from '../common/ui.js';

function kv(label, value) {
  return el('div', { class: 'kv' }, el('span', { class: 'muted' }, label), el('b', {}, value));
}

function offerBlock(offer) {
  const x = offer.explanation || {};
  const candidates = x.candidates || [];
  const heads = x.heads || [];
  return el('div', { class: 'why-offer', dataset: { testid: 'why-offer' } },
    el('h4', {}, t('why.offer', { agent: offer.agent_id, queue: offer.queue_id }),
      el('span', { class: 'muted' }, ` · ${fmtTime(offer.at)}`)),
    el('div', { class: 'kv-grid' },
      kv(t('why.trigger'), x.trigger ?? ''), kv(t('why.rule'), x.rule ?? ''),
      kv(t('why.strategy'), x.strategy ?? ''), kv(t('why.level'), x.relaxation_level ?? 0),
      kv(t('why.count'), x.candidate_count ?? candidates.length)),
    candidates.length ? el('div', {},
      el('div', { class: 'muted' }, t('why.candidates')),
      el('table', { class: 'table' },
        el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, t('a.agent')),
          el('th', {}, t('why.score')), el('th', {}, t('why.preferred')),
          el('th', {}, t('why.declined')))),
        el('tbody', {}, candidates.map((c, i) => el('tr', {
          class: c.agent_id === offer.agent_id ? 'selected' : '',
        }, el('td', {}, i + 1), el('td', {}, c.agent_id),
        el('td', {}, JSON.stringify(c.score)), el('td', {}, c.preferred_skills),
        el('td', {}, c.declined_before ? t('why.yes') : t('why.no'))))))) : null,
    heads.length ? el('div', {},
      el('div', { class: 'muted' }, t('why.heads')),
      el('ul', {}, heads.map((h) => el('li', {},
        `${h.queue_id}: ${h.call_id} (priority ${h.priority}, weight ${h.weight})`)))) : null);
}

export async function showWhy(callId) {
  let data;
  try {
    data = await api('GET', `/api/v1/reports/calls/${encodeURIComponent(callId)}/why`);
  } catch (err) {
    toast(errorText(err), 'error');
    return;
  }
  const close = el('button', { class: 'btn', type: 'button', onclick: () => overlay.remove() },
    t('common.close'));
  const body = el('div', { class: 'modal why', dataset: { testid: 'why-panel' } },
    el('h3', {}, t('why.title', { call: callId })),
    el('div', { class: 'muted' }, [data.caller, data.queue,
      data.outcome ? `${t('why.outcome')}: ${data.outcome}` : ''].filter(Boolean).join(' · ')),
    data.offers.length ? data.offers.map(offerBlock) : el('p', {}, t('why.no_offers')),
    el('details', {}, el('summary', {}, t('why.events')),
      el('ol', { class: 'why-events' }, data.events.map((e) => el('li', {},
        `${fmtTime(e.at)} ${e.type}${e.agent_id ? ` · ${e.agent_id}` : ''}`)))),
    el('div', { class: 'modal-actions' }, close));
  const overlay = el('div', { class: 'modal-overlay', onclick: (ev) => {
    if (ev.target === overlay) overlay.remove();
  } }, body);
  document.body.appendChild(overlay);
}
