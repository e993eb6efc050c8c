// Shared DOM helpers: el(), toast(), confirmDialog(), fmtDuration() and friends.
import { t } from './i18n.js';

// el('button', {class: 'btn', onclick: fn, dataset: {x: 1}, disabled: true}, 'text', child)
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class' || name === 'className') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'style' && typeof value === 'object') Object.assign(node.style, value);
    else if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'text') node.textContent = value;
    else if (name === 'html') throw new Error('el(): no raw html');
    else if (name in node && typeof value !== 'string') node[name] = value;
    else if (value === true) node.setAttribute(name, '');
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

let toastBox = null;

// kind: 'info' | 'ok' | 'warn' | 'error'
export function toast(message, kind = 'info', ms = 4000) {
  if (!toastBox || !toastBox.isConnected) {
    toastBox = el('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(toastBox);
  }
  const item = el('div', { class: `toast toast-${kind}`, dataset: { testid: 'toast' } }, message);
  toastBox.appendChild(item);
  window.setTimeout(() => item.remove(), ms);
  return item;
}

// A modal with the text and OK / Cancel; resolves true on OK. Escape cancels.
export function confirmDialog(text, options = {}) {
  return new Promise((resolve) => {
    const done = (value) => {
      overlay.remove();
      document.removeEventListener('keydown', onKey, true);
      resolve(value);
    };
    const onKey = (ev) => {
      if (ev.key === 'Escape') { ev.stopPropagation(); done(false); }
    };
    const ok = el('button', {
      class: `btn ${options.danger ? 'btn-danger' : 'btn-primary'}`,
      type: 'button',
      dataset: { testid: 'confirm-ok' },
      onclick: () => done(true),
    }, options.okText || t('common.ok'));
    const cancel = el('button', {
      class: 'btn', type: 'button', dataset: { testid: 'confirm-cancel' },
      onclick: () => done(false),
    }, t('common.cancel'));
    const overlay = el('div', { class: 'modal-overlay' },
      el('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true' },
        el('h3', {}, options.title || t('common.confirm')),
        el('p', { class: 'modal-text' }, text),
        el('div', { class: 'modal-actions' }, cancel, ok)));
    document.addEventListener('keydown', onKey, true);
    document.body.appendChild(overlay);
    ok.focus();
  });
}

// 75 -> "01:15"; 3725 -> "1:02:05"; null -> "--:--"
export function fmtDuration(sec) {
  if (sec === null || sec === undefined || Number.isNaN(Number(sec))) return '--:--';
  const total = Math.max(0, Math.floor(Number(sec)));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

// ISO time -> local "YYYY-MM-DD HH:MM" (or "" for null)
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A readable message for an ApiError (field errors of a 422 included).
export function errorText(err) {
  if (!err) return t('common.error');
  let text = err.message || String(err);
  if (Array.isArray(err.details)) {
    const fields = err.details
      .map((d) => `${(d.loc || []).filter((p) => p !== 'body').join('.')}: ${d.msg}`)
      .join('; ');
    if (fields) text = `${text} (${fields})`;
  }
  return text;
}
