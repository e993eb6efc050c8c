// The administration resources: how each one is listed, created, edited and deleted through
// the admin API (docs/api.md "Administration").
import { api } from '../common/api.js';
import { t } from '../common/i18n.js';
import { el, errorText, toast } from '../common/ui.js';
import { formDialog } from './crud.js';

const A = '/api/v1/admin';
const get = (path) => (params) => api('GET', `${A}/${path}?${params}`);
const enc = encodeURIComponent;
const STRATEGIES = ['longest_idle', 'round_robin', 'fewest_calls', 'least_talk_time', 'skill_level',
  'ring_all', 'random'];

async function quick(actionKey, fields, values, save) {
  const result = await formDialog(t(`act.${actionKey}`), fields, values, save);
  if (result !== null) toast(t('adm.saved'), 'ok');
}

// A prompt with a file chosen: a multipart upload (converted to 8 kHz WAV by the server,
// the text kept with it); otherwise the text / server path as JSON.
function savePrompt(name, language, b) {
  const path = `${A}/prompts/${enc(name)}/${enc(language)}`;
  if (b.file) {
    const form = new FormData();
    form.append('file', b.file);
    if (b.text) form.append('text', b.text);
    return api('POST', `${path}/audio`, form);
  }
  return api('PUT', path, { text: b.text ?? null, file_path: b.file_path ?? null });
}

async function call(fn) {
  try { await fn(); toast(t('adm.saved'), 'ok'); } catch (err) {
    toast(t('adm.failed', { message: errorText(err) }), 'error');
  }
}

const QUEUE_SETTINGS = [
  { name: 'strategy', type: 'select', options: STRATEGIES, default: 'longest_idle' },
  { name: 'ring_timeout_seconds', type: 'number', default: 20 },
  { name: 'wrapup_seconds', type: 'number', default: 10 },
  { name: 'max_wait_seconds', type: 'number' },
  { name: 'max_length', type: 'number' },
  { name: 'overflow_destination', type: 'text' },
  { name: 'recording_policy', type: 'select', options: ['none', 'all', 'on_demand'], default: 'none' },
  { name: 'weight', type: 'number', default: 0 },
  { name: 'sl_target_seconds', type: 'number', default: 20 },
  { name: 'sl_target_percent', type: 'number', default: 80 },
  { name: 'max_no_answer', type: 'number', default: 3 },
  { name: 'announcements', type: 'json', default: {} },
];
const SETTING_NAMES = new Set(QUEUE_SETTINGS.map((f) => f.name));

function queueBody(body) {
  const out = { settings: {} };
  for (const [k, v] of Object.entries(body)) {
    if (SETTING_NAMES.has(k)) out.settings[k] = v;
    else out[k] = v;
  }
  return out;
}

export const RESOURCES = {
  users: {
    key: 'users', list: get('users'), label: (r) => r.username, filters: ['role'],
    columns: ['id', 'username', 'display_name', 'role', 'enabled', 'locked_until'],
    fields: [
      { name: 'username', required: true, edit: false },
      { name: 'display_name' },
      { name: 'role', type: 'select', options: ['agent', 'supervisor', 'administrator'] },
      { name: 'password', type: 'password', required: true, edit: false },
      { name: 'enabled', type: 'checkbox', create: false },
    ],
    create: (b) => api('POST', `${A}/users`, b),
    update: (r, b) => api('PATCH', `${A}/users/${r.id}`, b),
    remove: (r) => api('DELETE', `${A}/users/${r.id}`),
    actions: [
      { key: 'password', run: (r) => quick('password', [{ name: 'password', type: 'password', required: true }],
        {}, (b) => api('POST', `${A}/users/${r.id}/password`, b)) },
      { key: 'unlock', show: (r) => Boolean(r.locked_until),
        run: (r) => call(() => api('POST', `${A}/users/${r.id}/unlock`)) },
    ],
  },
  agents: {
    key: 'agents', list: get('agents'), label: (r) => String(r.agent_id),
    columns: ['agent_id', 'name', 'category', 'extension', 'skills', 'wrapup_seconds', 'user_id', 'enabled'],
    fields: [
      { name: 'agent_id', type: 'number', required: true, edit: false },
      { name: 'name', required: true },
      { name: 'category', type: 'select', options: ['agent', 'supervisor'] },
      { name: 'extension' },
      { name: 'skills', type: 'map' },
      { name: 'wrapup_seconds', type: 'number' },
      { name: 'user_id', type: 'number', edit: false },
      { name: 'enabled', type: 'checkbox', create: false },
    ],
    create: (b) => api('POST', `${A}/agents`, b),
    update: (r, b) => api('PATCH', `${A}/agents/${r.agent_id}`, b),
    remove: (r) => api('DELETE', `${A}/agents/${r.agent_id}`),
    actions: [{
      key: 'queues',
      run: async (r) => {
        const path = `/api/v1/supervisor/agents/${r.agent_id}/queues`;
        const now = await api('GET', path);
        const current = Object.fromEntries(now.map((m) => [m.queue, m.penalty]));
        await quick('queues', [{ name: 'queues', type: 'map' }], { queues: current },
          (b) => api('PUT', path, { queues: Object.entries(b.queues || {})
            .map(([queue, penalty]) => ({ queue, penalty })) }));
      },
    }],
  },
  seats: {
    key: 'seats', list: get('seats'), label: (r) => r.number,
    columns: ['id', 'number', 'extension', 'location'],
    fields: [{ name: 'number', required: true }, { name: 'extension' }, { name: 'location' }],
    create: (b) => api('POST', `${A}/seats`, b),
    remove: (r) => api('DELETE', `${A}/seats/${r.id}`),
  },
  skills: {
    key: 'skills', list: get('skills'), label: (r) => r.name,
    columns: ['id', 'name', 'description'],
    fields: [{ name: 'name', required: true }, { name: 'description' }],
    create: (b) => api('POST', `${A}/skills`, b),
    remove: (r) => api('DELETE', `${A}/skills/${r.id}`),
  },
  queues: {
    key: 'queues', list: get('queues'), label: (r) => r.name,
    columns: ['name', 'display_name', 'enabled', 'skills',
      { name: 'strategy', render: (r) => r.settings.strategy },
      { name: 'ring_timeout_seconds', render: (r) => r.settings.ring_timeout_seconds },
      { name: 'wrapup_seconds', render: (r) => r.settings.wrapup_seconds },
      { name: 'overflow_destination', render: (r) => r.settings.overflow_destination || '' },
      { name: 'sl_target_percent',
        render: (r) => `${r.settings.sl_target_percent}% / ${r.settings.sl_target_seconds}s` }],
    fields: [
      { name: 'name', required: true, edit: false },
      { name: 'display_name' },
      { name: 'enabled', type: 'checkbox', create: false },
      { name: 'skills', type: 'map' },
      ...QUEUE_SETTINGS,
    ],
    values: (r) => ({ ...r, ...r.settings }),
    create: (b) => api('POST', `${A}/queues`, queueBody(b)),
    update: (r, b) => api('PATCH', `${A}/queues/${enc(r.name)}`, queueBody(b)),
    remove: (r) => api('DELETE', `${A}/queues/${enc(r.name)}`),
  },
  prompts: {
    key: 'prompts', list: get('prompts'), label: (r) => `${r.name}/${r.language}`,
    columns: ['name', 'language', 'text', 'file_path', 'updated_at'],
    fields: [
      { name: 'name', required: true, edit: false },
      { name: 'language', required: true, edit: false, default: 'zh' },
      { name: 'text' },
      { name: 'file', type: 'file', accept: 'audio/*,.wav,.mp3,.flac,.ogg,.m4a,.amr,.gsm' },
      { name: 'file_path' },
    ],
    create: (b) => savePrompt(b.name, b.language, b),
    update: (r, b) => savePrompt(r.name, r.language, b),
    remove: (r) => api('DELETE', `${A}/prompts/${enc(r.name)}/${enc(r.language)}`),
    actions: [{
      key: 'listen', show: (r) => Boolean(r.text || r.file_path),
      run: async (r) => {
        // the file when the prompt has one (an upload), else its text by TTS
        const src = `${A}/prompts/${enc(r.name)}/${enc(r.language)}/audio?v=${enc(r.updated_at)}`;
        const audio = el('audio', { controls: true, autoplay: true, src,
          dataset: { testid: 'prompt-audio', prompt: `${r.name}/${r.language}` } });
        audio.addEventListener('error', () => toast(t('adm.failed', { message: t('adm.no_audio') }),
          'error'));
        const old = document.querySelector('[data-testid="prompt-audio"]');
        if (old) old.remove();
        document.querySelector('.admin-main').prepend(audio);
      },
    }],
  },
  extensions: {
    key: 'extensions', list: get('extensions'), label: (r) => r.number,
    columns: ['id', 'number', 'display_name', 'max_contacts', 'voicemail_enabled', 'enabled'],
    fields: [
      { name: 'number', required: true }, { name: 'display_name' },
      { name: 'password', type: 'password' }, { name: 'max_contacts', type: 'number', default: 3 },
      { name: 'voicemail_enabled', type: 'checkbox', default: true },
    ],
    create: (b) => api('POST', `${A}/extensions`, b),
    remove: (r) => api('DELETE', `${A}/extensions/${r.id}`),
    actions: [
      { key: 'password', run: (r) => quick('password', [{ name: 'password', type: 'password', required: true }],
        {}, (b) => api('PUT', `${A}/extensions/${r.id}/password`, b)) },
      { key: 'disable', show: (r) => r.enabled,
        run: (r) => call(() => api('PATCH', `${A}/extensions/${r.id}`, { enabled: false })) },
      { key: 'enable', show: (r) => !r.enabled,
        run: (r) => call(() => api('PATCH', `${A}/extensions/${r.id}`, { enabled: true })) },
    ],
  },
  trunks: {
    key: 'trunks', list: get('trunks'), label: (r) => r.name,
    columns: ['id', 'name', 'host', 'port', 'transport', 'register', 'inbound_ips', 'dids',
      'has_credentials', 'enabled'],
    fields: [
      { name: 'name', required: true, edit: false }, { name: 'host', required: true },
      { name: 'port', type: 'number', default: 5060 },
      { name: 'transport', type: 'select', options: ['udp', 'tcp', 'tls'], edit: false },
      { name: 'register', type: 'checkbox' }, { name: 'inbound_ips', type: 'list' },
      { name: 'dids', type: 'list', edit: false }, { name: 'enabled', type: 'checkbox', create: false },
    ],
    create: (b) => api('POST', `${A}/trunks`, b),
    update: (r, b) => api('PATCH', `${A}/trunks/${r.id}`, b),
    remove: (r) => api('DELETE', `${A}/trunks/${r.id}`),
    actions: [{ key: 'auth', run: (r) => quick('auth', [{ name: 'username', required: true },
      { name: 'realm', required: true }, { name: 'password', type: 'password', required: true }],
    { username: r.auth_username, realm: r.auth_realm }, (b) => api('PUT', `${A}/trunks/${r.id}/auth`, b)) }],
  },
  categories: {
    key: 'categories', list: get('categories'), label: (r) => r.code,
    columns: ['code', 'name', 'description', 'sort_order', 'enabled'],
    fields: [
      { name: 'code', required: true, edit: false }, { name: 'name', required: true },
      { name: 'description' }, { name: 'sort_order', type: 'number', default: 0 },
      { name: 'enabled', type: 'checkbox', default: true },
    ],
    create: ({ code, ...b }) => api('PUT', `${A}/categories/${enc(code)}`, b),
    update: (r, { code, ...b }) => api('PUT', `${A}/categories/${enc(r.code)}`, b),
  },
  params: {
    key: 'params', label: (r) => r.key,
    list: async () => Object.entries(await api('GET', `${A}/params`)).map(([key, value]) => ({ key, value })),
    columns: ['key', 'value'],
    fields: [{ name: 'key', required: true, edit: false }, { name: 'value', type: 'json', required: true }],
    create: ({ key, value }) => api('PUT', `${A}/params/${enc(key)}`, { value }),
    update: (r, { value }) => api('PUT', `${A}/params/${enc(r.key)}`, { value }),
    remove: (r) => api('DELETE', `${A}/params/${enc(r.key)}`),
  },
  audit: {
    key: 'audit', list: get('audit'), label: (r) => String(r.id),
    filters: ['actor', 'action', 'target'],
    columns: ['at', 'actor', 'action', 'target', 'result', 'source', 'details'],
    fields: [],
  },
};
