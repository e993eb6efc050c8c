// Shared API client: JSON (or a FormData upload) over fetch with the session cookie (credentials 'same-origin').
// Every error answer of the server is {"error": {"code", "message", "details"}}; api() throws
// an ApiError carrying those fields (status 0 / code "network" when the server is unreachable).

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.message = message;
    this.details = details;
  }
}

export async function api(method, path, body) {
  const init = {
    method: method.toUpperCase(),
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
  };
  if (body instanceof FormData) {
    init.body = body;  // multipart: the browser sets the Content-Type with its boundary
  } else if (body !== undefined && body !== null) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', String(err && err.message ? err.message : err));
  }
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  let data = null;
  if (type.includes('application/json')) {
    try { data = await response.json(); } catch (_) { data = null; }
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(
      response.status,
      err.code || `http_${response.status}`,
      err.message || response.statusText || `HTTP ${response.status}`,
      err.details,
    );
  }
  return data;
}

export async function login(username, password) {
  return api('POST', '/api/v1/auth/login', { username, password });
}

export async function logout() {
  try {
    await api('POST', '/api/v1/auth/logout');
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
  }
}

// The logged-in user ({user, agent_id, token_kind}) or null without a session.
export async function me() {
  try {
    return await api('GET', '/api/v1/auth/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}
