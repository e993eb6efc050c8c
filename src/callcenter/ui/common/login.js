// Shared login form: username + password -> POST /api/v1/auth/login (session cookie).
//
//   const form = loginForm({onSuccess: (me) => start(me), titleKey: 'agent.title'});
//   const who = await requireLogin(container, {titleKey: 'sup.title'});  // me() or the form
import { ApiError, login, me } from './api.js';
import { applyI18n, langSwitch, t } from './i18n.js';
import { el } from './ui.js';

function message(err) {
  if (err instanceof ApiError && ['bad_credentials', 'account_locked', 'account_disabled']
    .includes(err.code)) {
    return t(`login.${err.code}`);
  }
  return t('login.failed', { message: err && err.message ? err.message : String(err) });
}

export function loginForm(options = {}) {
  const user = el('input', {
    name: 'username', autocomplete: 'username', required: true, maxlength: 64,
    dataset: { testid: 'login-username' }, autofocus: true,
  });
  const pass = el('input', {
    name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    maxlength: 256, dataset: { testid: 'login-password' },
  });
  const error = el('div', { class: 'form-error', role: 'alert', dataset: { testid: 'login-error' } });
  const submit = el('button', {
    class: 'btn btn-primary', type: 'submit', dataset: { testid: 'login-submit', i18n: 'login.submit' },
  });
  const form = el('form', { class: 'card login-card', novalidate: true },
    el('div', { class: 'login-head' },
      el('h2', { dataset: { i18n: options.titleKey || 'login.title' } }),
      langSwitch()),
    el('label', { class: 'field' }, el('span', { dataset: { i18n: 'login.username' } }), user),
    el('label', { class: 'field' }, el('span', { dataset: { i18n: 'login.password' } }), pass),
    error,
    el('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    if (!user.value.trim() || !pass.value) {
      error.textContent = t('login.required');
      return;
    }
    submit.disabled = true;
    try {
      await login(user.value.trim(), pass.value);
      const who = await me();
      if (options.onSuccess) await options.onSuccess(who);
    } catch (err) {
      error.textContent = message(err);
    } finally {
      submit.disabled = false;
    }
  });
  const relabel = () => applyI18n(form);
  window.addEventListener('langchange', relabel);
  applyI18n(form);
  return form;
}

// Resolves with me() when a session exists; otherwise shows the form in container until the
// user logs in (the form is removed then).
export async function requireLogin(container, options = {}) {
  const who = await me();
  if (who) return who;
  return new Promise((resolve) => {
    const form = loginForm({
      ...options,
      onSuccess: (w) => {
        form.remove();
        resolve(w);
      },
    });
    container.appendChild(form);
    const first = form.querySelector('input');
    if (first) first.focus();
  });
}
