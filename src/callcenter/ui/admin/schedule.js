// Working hours and holidays of a named schedule (GET/PUT /admin/schedules/{name}, holidays).
import { api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { clear, confirmDialog, el, errorText, toast } from '../common/ui.js';

const A = '/api/v1/admin/schedules';

export function schedulePage(root) {
  const name = el('input', { value: 'default', dataset: { testid: 'sch-name' } });
  const tz = el('input', { value: 'Asia/Shanghai', dataset: { testid: 'sch-tz' } });
  const spans = el('tbody');
  const holidays = el('tbody');
  const day = el('input', { type: 'date' });
  const label = el('input', { placeholder: t('f.name') });
  const fail = (err) => toast(t('adm.failed', { message: errorText(err) }), 'error');

  function spanRow(s) {
    const wd = el('select', {}, [0, 1, 2, 3, 4, 5, 6].map((d) => el('option', {
      value: d, selected: d === s.weekday }, t(`wd.${d}`))));
    const opens = el('input', { value: s.opens, size: 8 });
    const closes = el('input', { value: s.closes, size: 8 });
    const row = el('tr', {}, el('td', {}, wd), el('td', {}, opens), el('td', {}, closes),
      el('td', {}, el('button', { class: 'btn btn-small', type: 'button', onclick: () => row.remove() }, t('adm.delete'))));
    row.read = () => ({ weekday: Number(wd.value), opens: opens.value.trim(), closes: closes.value.trim() });
    return row;
  }

  async function load() {
    try {
      const s = await api('GET', `${A}/${encodeURIComponent(name.value.trim())}`);
      tz.value = s.timezone;
      clear(spans).append(...s.hours.map(spanRow));
      clear(holidays).append(...s.holidays.map((h) => el('tr', {}, el('td', {}, h.day), el('td', {}, h.name),
        el('td', {}, el('button', { class: 'btn btn-small btn-danger', type: 'button', onclick: async () => {
          if (!(await confirmDialog(t('adm.confirm_delete', { what: `${h.day} ${h.name}` }), { danger: true }))) return;
          try { await api('DELETE', `${A}/${encodeURIComponent(name.value.trim())}/holidays/${h.day}`); load(); } catch (err) { fail(err); }
        } }, t('adm.delete'))))));
    } catch (err) {
      clear(spans); clear(holidays);
      fail(err);
    }
  }

  async function saveHours() {
    try {
      await api('PUT', `${A}/${encodeURIComponent(name.value.trim())}`, {
        timezone: tz.value.trim(), hours: [...spans.children].map((r) => r.read()) });
      toast(t('adm.saved'), 'ok');
      load();
    } catch (err) { fail(err); }
  }

  async function addHoliday() {
    try {
      await api('POST', `${A}/${encodeURIComponent(name.value.trim())}/holidays`, { day: day.value, name: label.value.trim() });
      toast(t('adm.saved'), 'ok');
      load();
    } catch (err) { fail(err); }
  }

  clear(root).append(
    el('div', { class: 'row' }, el('h2', {}, t('nav.schedules')), el('span', { class: 'spacer' }),
      el('label', { class: 'field inline' }, el('span', {}, t('sch.name')), name),
      el('button', { class: 'btn', type: 'button', onclick: load }, t('sch.load'))),
    el('div', { class: 'panel' }, el('h3', {}, t('sch.hours')),
      el('label', { class: 'field inline' }, el('span', {}, t('f.timezone')), tz),
      el('table', { class: 'table' }, el('thead', {}, el('tr', {}, el('th', {}, t('f.weekday')),
        el('th', {}, t('f.opens')), el('th', {}, t('f.closes')), el('th', {}))), spans),
      el('div', { class: 'row' },
        el('button', { class: 'btn', type: 'button',
          onclick: () => spans.appendChild(spanRow({ weekday: 0, opens: '08:00', closes: '18:00' })) }, t('sch.add_span')),
        el('button', { class: 'btn btn-primary', type: 'button', onclick: saveHours }, t('sch.save_hours')))),
    el('div', { class: 'panel' }, el('h3', {}, t('sch.holidays')),
      el('table', { class: 'table' }, el('thead', {}, el('tr', {}, el('th', {}, t('f.day')),
        el('th', {}, t('f.name')), el('th', {}))), holidays),
      el('div', { class: 'row' }, day, label,
        el('button', { class: 'btn btn-primary', type: 'button', onclick: addHoliday }, t('sch.add_holiday')))));
  load();
}
