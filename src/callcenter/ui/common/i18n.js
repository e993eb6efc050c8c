// Shared i18n: Simplified Chinese by default, English on request (persisted in localStorage).
// Each page registers its own keys: register({zh: {key: text}, en: {key: text}}).
// t("key", {n: 3}) fills {n} placeholders; a missing key falls back to zh, then the key itself.

const STORE_KEY = 'cc.lang';
const tables = { zh: {}, en: {} };
let current = 'zh';

try {
  const saved = window.localStorage.getItem(STORE_KEY);
  if (saved === 'zh' || saved === 'en') current = saved;
} catch (_) { /* storage may be disabled */ }

export function lang() {
  return current;
}

export function register(table) {
  for (const code of ['zh', 'en']) {
    Object.assign(tables[code], (table && table[code]) || {});
  }
}

export function t(key, vars) {
  let text = tables[current][key];
  if (text === undefined) text = tables.zh[key];
  if (text === undefined) text = key;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return text;
}

export function has(key) {
  return key in tables[current] || key in tables.zh;
}

export function setLang(code) {
  if (code !== 'zh' && code !== 'en') return;
  current = code;
  try { window.localStorage.setItem(STORE_KEY, code); } catch (_) { /* ignore */ }
  document.documentElement.lang = code === 'zh' ? 'zh-CN' : 'en';
  applyI18n(document);
  window.dispatchEvent(new CustomEvent('langchange', { detail: { lang: code } }));
}

// Fills data-i18n (text), data-i18n-placeholder, data-i18n-title and data-i18n-aria
// attributes under root.
export function applyI18n(root) {
  const scope = root || document;
  scope.querySelectorAll('[data-i18n]').forEach((node) => {
    node.textContent = t(node.dataset.i18n);
  });
  scope.querySelectorAll('[data-i18n-placeholder]').forEach((node) => {
    node.setAttribute('placeholder', t(node.dataset.i18nPlaceholder));
  });
  scope.querySelectorAll('[data-i18n-title]').forEach((node) => {
    node.setAttribute('title', t(node.dataset.i18nTitle));
  });
  scope.querySelectorAll('[data-i18n-aria]').forEach((node) => {
    node.setAttribute('aria-label', t(node.dataset.i18nAria));
  });
}

// A button that toggles between the two languages; its label names the other language.
export function langSwitch() {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'btn btn-ghost lang-switch';
  button.dataset.testid = 'lang-switch';
  const label = () => {
    button.textContent = current === 'zh' ? 'English' : '中文';
  };
  label();
  button.addEventListener('click', () => setLang(current === 'zh' ? 'en' : 'zh'));
  window.addEventListener('langchange', label);
  return button;
}

register({
  zh: {
    'common.ok': '确定',
    'common.cancel': '取消',
    'common.close': '关闭',
    'common.save': '保存',
    'common.delete': '删除',
    'common.edit': '编辑',
    'common.search': '搜索',
    'common.loading': '加载中…',
    'common.none': '无',
    'common.confirm': '请确认',
    'common.logout': '退出',
    'common.error': '出错了',
    'common.not_available': '此功能暂不可用（服务器尚未提供）',
    'common.offline': '事件连接已断开，正在重连…',
    'common.online': '已连接',
    'login.title': '登录',
    'login.username': '用户名',
    'login.password': '密码',
    'login.submit': '登录',
    'login.failed': '登录失败：{message}',
    'login.bad_credentials': '用户名或密码错误',
    'login.account_locked': '登录失败次数过多，账号已锁定，请稍后再试',
    'login.account_disabled': '此账号已停用',
    'login.required': '请输入用户名和密码',
  },
  en: {
    'common.ok': 'OK',
    'common.cancel': 'Cancel',
    'common.close': 'Close',
    'common.save': 'Save',
    'common.delete': 'Delete',
    'common.edit': 'Edit',
    'common.search': 'Search',
    'common.loading': 'Loading…',
    'common.none': 'None',
    'common.confirm': 'Please confirm',
    'common.logout': 'Log out',
    'common.error': 'Something went wrong',
    'common.not_available': 'Not available yet (the server does not offer it)',
    'common.offline': 'Event stream disconnected, reconnecting…',
    'common.online': 'Connected',
    'login.title': 'Log in',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.failed': 'Login failed: {message}',
    'login.bad_credentials': 'Wrong username or password',
    'login.account_locked': 'Too many failed logins: the account is locked, try again later',
    'login.account_disabled': 'This account is disabled',
    'login.required': 'Enter your username and password',
  },
});

document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
