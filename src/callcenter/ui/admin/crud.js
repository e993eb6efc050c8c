// A generic list + form page over one administration resource of the API.
//
// A resource: {key, list(params) -> {items,total} | items, columns: [name | {name, render}],
//   fields: [{name, type, options, required, create, edit, help}], create(body), update(row, body),
//   remove(row), label(row), actions: [{key, show(row), run(row, reload)}], filters: [field]}
// Field types: text, number, password, select, checkbox, json, map (a:1, b:2), list (a, b),
// file (the chosen File object; `accept` limits the picker).
import { t } from '../common/i18n.js';
import { clear, confirmDialog, el, errorText, fmtTime, toast } from '../common/ui.js';

const PAGE = 50;

export function cell(value) {
  if (value === true) return t('adm.yes');
  if (value === false) return t('adm.no');
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return fmtTime(value);
  if (typeof value === 'object') {
    if (!Array.isArray(value) && Object.values(value).every((v) => typeof v === 'number')) {
      return Object.entries(value).map(([k, v]) => `${k}:${v}`).join(', ');
    }
    return JSON.stringify(value);
  }
  return String(value);
}

function toInput(field, value) {
  if (value === undefined || value === null) return '';
  if (field.type === 'json') return JSON.stringify(value, null, 1);
  if (field.type === 'map') return Object.entries(value).map(([k, v]) => `${k}:${v}`).join(', ');
  if (field.type === 'list') return value.join(', ');
  return String(value);
}

function fromInput(field, input) {
  const label = t(`f.${field.name}`);
  if (field.type === 'checkbox') return input.checked;
  if (field.type === 'file') {
    const file = input.files && input.files[0];
    if (!file && field.required) throw new Error(t('adm.required', { field: label }));
    return file || undefined;
  }
  const raw = input.value.trim();
  if (raw === '') {
    if (field.required) throw new Error(t('adm.required', { field: label }));
    if (field.type === 'map' || field.type === 'list' || field.type === 'json') {
      return field.type === 'list' ? [] : {};
    }
    return undefined;
  }
  if (field.type === 'number') return Number(raw);
  if (field.type === 'json') {
    try { return JSON.parse(raw); } catch (_) { throw new Error(t('adm.bad_json', { field: label })); }
  }
  if (field.type === 'list') return raw.split(/[,\s]+/).filter(Boolean);
  if (field.type === 'map') {
    const out = {};
    for (const part of raw.split(/[,\s]+/).filter(Boolean)) {
      const m = part.match(/^([A-Za-z0-9_.:-]+?):(-?\d+)$/);
      if (!m) throw new Error(t('adm.bad_map', { field: label }));
      out[m[1]] = Number(m[2]);
    }
    return out;
  }
  return raw;
}

// A modal form; resolves with the body (fields set) or null when cancelled. `save` runs
// inside: an error keeps the form open and shows it.
export function formDialog(title, fields, values, save) {
  return new Promise((resolve) => {
    const inputs = {};
    const error = el('div', { class: 'form-error', dataset: { testid: 'form-error' } });
    const rows = fields.map((f) => {
      let input;
      const v = values ? values[f.name] : undefined;
      const common = { name: f.name, dataset: { testid: `field-${f.name}` } };
      if (f.type === 'select') {
        input = el('select', common, (f.options || []).map((o) => el('option', {
          value: o, selected: String(v ?? f.default ?? '') === String(o) }, o)));
      } else if (f.type === 'checkbox') {
        input = el('input', { ...common, type: 'checkbox', checked: v ?? f.default ?? false });
      } else if (f.type === 'file') {
        input = el('input', { ...common, type: 'file', accept: f.accept });
      } else if (f.type === 'json') {
        input = el('textarea', { ...common, rows: 3 });
        input.value = toInput(f, v ?? f.default);
      } else {
        input = el('input', { ...common, type: f.type === 'password' ? 'password' : 'text',
          inputmode: f.type === 'number' ? 'numeric' : undefined });
        input.value = toInput(f, v ?? f.default);
      }
      inputs[f.name] = input;
      return el('label', { class: `field${f.type === 'checkbox' ? ' inline' : ''}` },
        el('span', {}, t(`f.${f.name}`), f.required ? ' *' : ''), input);
    });
    const done = (value) => { overlay.remove(); resolve(value); };
    const ok = el('button', { class: 'btn btn-primary', type: 'submit', dataset: { testid: 'form-save' } },
      t('common.save'));
    const form = el('form', { class: 'modal admin-form', dataset: { testid: 'admin-form' } },
      el('h3', {}, title), el('div', { class: 'form-grid' }, rows), error,
      el('div', { class: 'modal-actions' },
        el('button', { class: 'btn', type: 'button', onclick: () => done(null) }, t('common.cancel')), ok));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const body = {};
      try {
        for (const f of fields) {
          const value = fromInput(f, inputs[f.name]);
          if (value !== undefined) body[f.name] = value;
        }
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      ok.disabled = true;
      try {
        const result = await save(body);
        done(result ?? body);
      } catch (err) {
        error.textContent = errorText(err);
      } finally {
        ok.disabled = false;
      }
    });
    const overlay = el('div', { class: 'modal-overlay' }, form);
    document.body.appendChild(overlay);
    const first = form.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

export function crudPage(root, res) {
  let offset = 0;
  let rows = [];
  let total = 0;
  const filters = {};
  const tableBox = el('div', { class: 'table-wrap' });
  const pager = el('div', { class: 'row pager' });
  const filterRow = el('div', { class: 'row' });
  for (const name of res.filters || []) {
    const input = el('input', { placeholder: t(`f.${name}`), dataset: { testid: `filter-${name}` },
      onchange: () => { filters[name] = input.value.trim(); offset = 0; load(); } });
    filterRow.appendChild(input);
  }
  const newBtn = res.create ? el('button', { class: 'btn btn-primary', type: 'button',
    dataset: { testid: 'new' }, onclick: () => edit(null) }, t('adm.new')) : null;
  const head = el('div', { class: 'row' }, el('h2', {}, t(`nav.${res.key}`)), el('span', { class: 'spacer' }),
    filterRow, newBtn,
    el('button', { class: 'btn', type: 'button', dataset: { testid: 'refresh' }, onclick: () => load() },
      t('adm.refresh')));
  clear(root).append(head, tableBox, pager);

  async function load() {
    try {
      const params = new URLSearchParams({ limit: PAGE, offset });
      for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
      const data = await res.list(params);
      rows = Array.isArray(data) ? data : data.items;
      total = Array.isArray(data) ? data.length : data.total;
      render();
    } catch (err) {
      toast(t('adm.failed', { message: errorText(err) }), 'error');
    }
  }

  async function edit(row) {
    const fields = res.fields.filter((f) => (row ? f.edit !== false : f.create !== false));
    const title = `${row ? t('adm.edit') : t('adm.new')} · ${t(`nav.${res.key}`)}${row ? ` · ${res.label(row)}` : ''}`;
    const values = row && res.values ? res.values(row) : row;
    const saved = await formDialog(title, fields, values,
      (body) => (row ? res.update(row, body) : res.create(body)));
    if (saved !== null) { toast(t('adm.saved'), 'ok'); load(); }
  }

  async function remove(row) {
    if (!(await confirmDialog(t('adm.confirm_delete', { what: res.label(row) }), { danger: true }))) return;
    try {
      await res.remove(row);
      toast(t('adm.deleted'), 'ok');
      load();
    } catch (err) {
      toast(t('adm.failed', { message: errorText(err) }), 'error');
    }
  }

  function render() {
    const cols = res.columns.map((c) => (typeof c === 'string' ? { name: c } : c));
    clear(tableBox).appendChild(el('table', { class: 'table', dataset: { testid: `table-${res.key}` } },
      el('thead', {}, el('tr', {}, cols.map((c) => el('th', {}, t(`f.${c.name}`))), el('th', {}))),
      el('tbody', {}, rows.length ? rows.map((row) => el('tr', { dataset: { key: res.label(row) } },
        cols.map((c) => el('td', { dataset: { field: c.name } }, c.render ? c.render(row) : cell(row[c.name]))),
        el('td', { class: 'row-actions' },
          res.update ? el('button', { class: 'btn btn-small', type: 'button', dataset: { testid: 'edit' },
            onclick: () => edit(row) }, t('adm.edit')) : null,
          (res.actions || []).filter((a) => !a.show || a.show(row)).map((a) => el('button', {
            class: 'btn btn-small', type: 'button', dataset: { testid: `act-${a.key}` },
            onclick: async () => { await a.run(row); load(); } }, t(`act.${a.key}`))),
          res.remove ? el('button', { class: 'btn btn-small btn-danger', type: 'button',
            dataset: { testid: 'delete' }, onclick: () => remove(row) }, t('adm.delete')) : null)))
        : el('tr', {}, el('td', { colspan: cols.length + 1, class: 'muted' }, t('adm.empty'))))));
    // (DOM append() would write a null as the text "null")
    clear(pager).append(...[el('span', { class: 'muted' }, t('adm.total', { n: total })),
      offset > 0 ? el('button', { class: 'btn btn-small', type: 'button',
        onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, t('adm.prev')) : null,
      offset + PAGE < total ? el('button', { class: 'btn btn-small', type: 'button',
        onclick: () => { offset += PAGE; load(); } }, t('adm.next')) : null].filter(Boolean));
  }

  load();
  return { load };
}
