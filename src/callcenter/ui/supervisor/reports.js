// Today's reports (or another day): queue and agent summaries, SVG bar charts, CSV export.
import { api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { clear, el, errorText, fmtDuration, toast } from '../common/ui.js';
import { barChart } from './charts.js';
import { formulaText } from './wallboard.js';

const COLORS = { offered: '#1d5fbf', answered: '#1a7f37', abandoned: '#c62828', handled: '#8a4fbf' };

function pct(v) { return v === null || v === undefined ? '—' : `${Math.round(v * 1000) / 10}%`; }
function dur(v) { return v === null || v === undefined ? '—' : fmtDuration(v); }

function localDay() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function createReports(root) {
  const day = el('input', { type: 'date', value: '', dataset: { testid: 'r-day' } });
  const csvQ = el('a', { class: 'btn', dataset: { testid: 'r-csv-queues' }, download: '' });
  const csvA = el('a', { class: 'btn', dataset: { testid: 'r-csv-agents' }, download: '' });
  const load = el('button', { class: 'btn btn-primary', type: 'button', onclick: () => refresh() });
  const head = el('div', { class: 'row' });
  const body = el('div', { class: 'col' });
  root.append(head, body);
  let data = null;

  async function refresh() {
    const q = day.value ? `?day=${day.value}` : '';
    csvQ.href = `/api/v1/reports/queues.csv${q}`;
    csvA.href = `/api/v1/reports/agents.csv${q}`;
    try {
      const [queues, agents] = await Promise.all([
        api('GET', `/api/v1/reports/queues${q}`), api('GET', `/api/v1/reports/agents${q}`)]);
      data = { queues, agents };
      if (!day.value) day.value = queues.day;
      render();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  }

  function render() {
    clear(head).append(el('label', { class: 'field inline' }, el('span', {}, t('r.day')), day),
      load, csvQ, csvA);
    load.textContent = t('r.load');
    csvQ.textContent = t('r.csv_queues');
    csvA.textContent = t('r.csv_agents');
    clear(body);
    if (!data) return;
    const { queues, agents } = data;
    body.appendChild(el('div', { class: 'muted', dataset: { testid: 'r-formula' } },
      t('r.formula', { text: formulaText(queues.formula.name, 'T') }), ' · ',
      t('r.tz', { tz: queues.timezone })));
    const totals = new Array(24).fill(0);
    queues.items.forEach((item) => item.by_hour.forEach((n, h) => { totals[h] += n; }));
    body.appendChild(el('div', { class: 'row charts' },
      barChart({
        title: t('r.by_queue'), labels: queues.items.map((i) => i.queue), width: 440,
        testid: 'chart-queues',
        series: ['offered', 'answered', 'abandoned'].map((k) => ({
          name: t(`q.${k}`), color: COLORS[k], values: queues.items.map((i) => i[k]) })),
      }),
      barChart({
        title: t('r.by_hour'), labels: totals.map((_, h) => String(h)), width: 440,
        testid: 'chart-hours',
        series: [{ name: t('q.offered'), color: COLORS.offered, values: totals }],
      }),
      barChart({
        title: t('r.by_agent'), labels: agents.items.map((a) => a.agent_id), width: 360,
        testid: 'chart-agents',
        series: [{ name: t('a.handled'), color: COLORS.handled,
          values: agents.items.map((a) => a.handled) }],
      })));
    const qHead = ['w.queue', 'q.offered', 'q.answered', 'q.abandoned', 'q.overflowed', 'q.sl',
      'q.asa', 'q.aht', 'r.abandon_rate'];
    body.appendChild(el('div', { class: 'panel' }, el('h3', {}, t('r.queues')),
      el('table', { class: 'table', dataset: { testid: 'r-queues' } },
        el('thead', {}, el('tr', {}, qHead.map((k) => el('th', {}, t(k))))),
        el('tbody', {}, queues.items.map((i) => el('tr', { dataset: { queue: i.queue } },
          el('td', {}, `${i.display_name} (${i.queue})`),
          el('td', { dataset: { field: 'offered' } }, i.offered),
          el('td', { dataset: { field: 'answered' } }, i.answered),
          el('td', { dataset: { field: 'abandoned' } }, i.abandoned),
          el('td', {}, i.overflowed),
          el('td', {}, `${pct(i.service_level)} (T=${i.sl_target_seconds}s, ${i.sl_target_percent}%)`),
          el('td', {}, dur(i.asa)), el('td', {}, dur(i.aht)), el('td', {}, pct(i.abandon_rate))))))));
    const aHead = ['a.agent', 'a.name', 'a.handled', 'r.talk', 'r.avg_talk', 'r.wrapup', 'q.aht'];
    body.appendChild(el('div', { class: 'panel' }, el('h3', {}, t('r.agents')),
      el('table', { class: 'table', dataset: { testid: 'r-agents' } },
        el('thead', {}, el('tr', {}, aHead.map((k) => el('th', {}, t(k))))),
        el('tbody', {}, agents.items.map((a) => el('tr', { dataset: { agent: a.agent_id } },
          el('td', {}, a.agent_id), el('td', {}, a.name),
          el('td', { dataset: { field: 'handled' } }, a.handled),
          el('td', {}, dur(a.talk)), el('td', {}, dur(a.average_talk)), el('td', {}, dur(a.wrapup)),
          el('td', {}, dur(a.aht))))))));
  }

  day.value = '';
  window.addEventListener('langchange', render);
  render();
  return { refresh, localDay };
}
