// The only place fetch is called: the operator API (bearer, JSON, typed errors) and the few
// unauthenticated reads (config.json, Cognito's token endpoint).

import { t, tMaybe } from './i18n.js';

let base = '/';
let bearer = async () => null;
let refresh = async () => false;
let unauthorized = () => {};

export function configureApi(options) {
  if (options.apiBase) base = options.apiBase.endsWith('/') ? options.apiBase : `${options.apiBase}/`;
  bearer = options.bearer ?? bearer;
  refresh = options.refresh ?? refresh;
  unauthorized = options.unauthorized ?? unauthorized;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** An API path ("api/me" or "/api/me") as a URL on the API's origin. */
export function apiUrl(path) {
  return base + path.replace(/^\/+/, '');
}

/** Path of one conversation's route: ids hold ':' and must be encoded. */
export function convPath(id, rest = '') {
  return `api/conversations/${encodeURIComponent(id)}${rest}`;
}

function withQuery(url, query) {
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${url}${url.includes('?') ? '&' : '?'}${qs}` : url;
}

async function send(method, url, body, token) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
}

async function toError(res) {
  let code = `http_${res.status}`;
  let message = res.statusText;
  try {
    const body = await res.json();
    code = body.error || code;
    message = body.message || message;
  } catch { /* not JSON: keep the status */ }
  return new ApiError(res.status, code, message);
}

/**
 * A call to the operator API. A 401 tries one token refresh, then signs out (unless `token` is
 * given: the sign-in form checks a candidate token itself).
 */
export async function api(method, path, { body, query, token } = {}) {
  const url = withQuery(apiUrl(path), query);
  let res = await send(method, url, body, token ?? await bearer());
  if (res.status === 401 && token === undefined && await refresh()) {
    res = await send(method, url, body, await bearer());
  }
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && token === undefined) unauthorized(err);
    throw err;
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : null;
}

export const get = (path, query) => api('GET', path, { query });
export const post = (path, body) => api('POST', path, { body: body ?? {} });
export const put = (path, body) => api('PUT', path, { body: body ?? {} });
export const patch = (path, body) => api('PATCH', path, { body });
export const del = (path) => api('DELETE', path);

/** A file from the API with the bearer (media, exports): {blob, filename}. */
export async function apiBlob(url) {
  const full = url.startsWith('/api/') || url.startsWith('api/') ? apiUrl(url) : url;
  let res = await sendBlob(full);
  if (res.status === 401 && await refresh()) res = await sendBlob(full);
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401) unauthorized(err);
    throw err;
  }
  const disposition = res.headers.get('content-disposition') || '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  return { blob: await res.blob(), filename: match ? decodeURIComponent(match[1]) : null };
}

async function sendBlob(url) {
  const token = await bearer();
  try {
    return await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
}

/** An unauthenticated JSON GET (the console's own config). */
export async function getPublicJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, res.statusText);
  return res.json();
}

/** A form POST without a bearer (Cognito's token endpoint). */
export async function postForm(url, fields) {
  let res;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  } catch (e) {
    throw new ApiError(0, 'network', e.message);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.error || `http_${res.status}`, body.error_description || res.statusText);
  return body;
}

/**
 * What to show staff for a failure: the translated code, plus the API's own message where it
 * names a field or carries LINE's answer.
 */
export function errorText(err) {
  if (!(err instanceof ApiError)) return t('error.unexpected');
  const known = tMaybe(`error.${err.code}`);
  const detailed = ['bad_request', 'invalid', 'limit_reached', 'not_allowed', 'conflict', 'line_refused', 'forbidden'];
  if (known && detailed.includes(err.code) && err.message) return `${known}: ${err.message}`;
  return known ?? (err.message ? `${t('error.unexpected')}: ${err.message}` : t('error.unexpected'));
}
