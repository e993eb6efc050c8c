// Supervisor console (班长监控台): wallboard (live), actions, "why this agent?", today's
// reports. ?tv=1 is the wall-screen mode: large, no controls.
import { logout } from '../common/api.js';
import { connectEvents } from '../common/events.js';
import { applyI18n, langSwitch, t } from '../common/i18n.js';
import { requireLogin } from '../common/login.js';
import { clear, el } from '../common/ui.js';
import './i18n.js';
import { createReports } from './reports.js';
import { createWallboard } from './wallboard.js';

const params = new URLSearchParams(window.location.search);
const tv = params.get('tv') === '1';
const app = document.getElementById('app');

async function start() {
  document.body.classList.toggle('tv', tv);
  const loginBox = el('div', { class: 'login-wrap' });
  app.appendChild(loginBox);
  const who = await requireLogin(loginBox, { titleKey: 'sup.title' });
  loginBox.remove();
  const role = who.user.role;
  if (role !== 'supervisor' && role !== 'administrator') {
    app.appendChild(el('p', { class: 'panel' }, `${who.user.username}: ${role} — forbidden`));
    return;
  }
  const conn = el('span', { class: 'conn', dataset: { testid: 'conn' } });
  const tabs = el('div', { class: 'tabs' });
  const wallRoot = el('div', { class: 'wallboard', dataset: { testid: 'wallboard' } });
  const repRoot = el('div', { class: 'reports hidden', dataset: { testid: 'reports' } });
  const tvLink = el('a', { class: 'btn btn-ghost', href: tv ? '?' : '?tv=1',
    dataset: { testid: 'tv-toggle', i18n: tv ? 'sup.tv_exit' : 'sup.tv' } });
  const adminLink = role === 'administrator'
    ? el('a', { class: 'btn btn-ghost', href: '../admin/', dataset: { i18n: 'sup.admin' } }) : null;
  const out = el('button', { class: 'btn btn-ghost', type: 'button', dataset: { i18n: 'common.logout' },
    onclick: async () => { await logout(); window.location.reload(); } });
  const top = el('header', { class: 'topbar' },
    el('span', { class: 'title', dataset: { i18n: 'sup.title' } }),
    el('span', { class: 'muted-inv' }, who.user.display_name || who.user.username),
    el('span', { class: 'spacer' }), conn, tvLink, adminLink, langSwitch(), out);
  const main = el('main', { class: 'sup-main' }, tv ? null : tabs, wallRoot, repRoot);
  app.append(top, main);

  const wall = createWallboard(wallRoot, { tv });
  const reports = createReports(repRoot);
  const show = (which) => {
    wallRoot.classList.toggle('hidden', which !== 'wall');
    repRoot.classList.toggle('hidden', which !== 'reports');
    tabs.querySelectorAll('.tab').forEach((b) => b.classList.toggle('active', b.dataset.tab === which));
    if (which === 'reports') reports.refresh();
  };
  tabs.append(
    el('button', { class: 'tab active', type: 'button', dataset: { tab: 'wall', testid: 'tab-wall',
      i18n: 'sup.tab.wallboard' }, onclick: () => show('wall') }),
    el('button', { class: 'tab', type: 'button', dataset: { tab: 'reports', testid: 'tab-reports',
      i18n: 'sup.tab.reports' }, onclick: () => show('reports') }));
  applyI18n(document);
  await wall.refresh();
  const setConn = (online) => {
    conn.textContent = t(online ? 'common.online' : 'common.offline');
    conn.classList.toggle('off', !online);
  };
  window.addEventListener('langchange', () => setConn(!conn.classList.contains('off')));
  connectEvents((ev) => wall.onEvent(ev), {
    onStatus: (status) => {
      if (status === 'open' || status === 'resync') {
        setConn(true);
        wall.refresh();
      } else if (status === 'unauthenticated') {
        window.location.reload();
      } else {
        setConn(false);
      }
    },
  });
  clear(loginBox);
}

start();
