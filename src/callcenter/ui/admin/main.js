// Administration pages (系统管理): every resource of the admin API, the IVR flow editor with
// its diagram, hours and holidays, the audit log. The page to show is the URL hash (#queues).
import { logout } from '../common/api.js';
import { applyI18n, langSwitch } from '../common/i18n.js';
import { requireLogin } from '../common/login.js';
import { clear, el } from '../common/ui.js';
import './i18n.js';
import { crudPage } from './crud.js';
import { flowPage } from './flow.js';
import { RESOURCES } from './resources.js';
import { schedulePage } from './schedule.js';

const PAGES = ['users', 'agents', 'seats', 'skills', 'queues', 'flows', 'prompts', 'extensions',
  'trunks', 'schedules', 'categories', 'params', 'audit'];
const app = document.getElementById('app');

async function start() {
  const loginBox = el('div', { class: 'login-wrap' });
  app.appendChild(loginBox);
  const who = await requireLogin(loginBox, { titleKey: 'adm.title' });
  loginBox.remove();
  if (who.user.role !== 'administrator') {
    app.appendChild(el('p', { class: 'panel' }, `${who.user.username}: ${who.user.role} — forbidden`));
    return;
  }
  const nav = el('nav', { class: 'admin-nav' });
  const main = el('main', { class: 'admin-main' });
  const out = el('button', { class: 'btn btn-ghost', type: 'button', dataset: { i18n: 'common.logout' },
    onclick: async () => { await logout(); window.location.reload(); } });
  app.append(
    el('header', { class: 'topbar' }, el('span', { class: 'title', dataset: { i18n: 'adm.title' } }),
      el('span', { class: 'spacer' }),
      el('a', { class: 'btn btn-ghost', href: '../supervisor/', dataset: { i18n: 'adm.console' } }),
      langSwitch(), out),
    el('div', { class: 'admin-body' }, nav, main));

  function show() {
    const page = PAGES.includes(window.location.hash.slice(1)) ? window.location.hash.slice(1) : 'users';
    clear(nav).append(...PAGES.map((p) => el('a', { href: `#${p}`, class: p === page ? 'active' : '',
      dataset: { testid: `nav-${p}`, i18n: `nav.${p}` } })));
    const box = el('div', { class: 'admin-page', dataset: { testid: `page-${page}` } });
    clear(main).appendChild(box);
    if (page === 'flows') flowPage(box);
    else if (page === 'schedules') schedulePage(box);
    else crudPage(box, RESOURCES[page]);
    applyI18n(document);
  }
  window.addEventListener('hashchange', show);
  window.addEventListener('langchange', show);
  show();
}

start();
