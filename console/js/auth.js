// Who the console acts as: a local operator token, or a Cognito ID token from the
// authorization-code + PKCE flow. Everything lives in sessionStorage (gone with the tab).

import { postForm } from './api.js';

const TOKEN_KEY = 'loa.token';
const COGNITO_KEY = 'loa.cognito';
const PKCE_KEY = 'loa.pkce';
const RETURN_KEY = 'loa.return';
// Refresh this long before the ID token expires, so a request never carries a dead token.
const REFRESH_MARGIN_MS = 60_000;

let config = { auth: 'token' };
let refreshing = null;

export function initAuth(cfg) {
  config = cfg;
}

export function authMode() {
  return config.auth === 'cognito' ? 'cognito' : 'token';
}

export function hasSession() {
  return authMode() === 'cognito' ? Boolean(readCognito()) : Boolean(sessionStorage.getItem(TOKEN_KEY));
}

export function setLocalToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** The bearer for the next request (refreshing a Cognito token that is about to expire). */
export async function bearer() {
  if (authMode() === 'token') return sessionStorage.getItem(TOKEN_KEY);
  const tokens = readCognito();
  if (!tokens) return null;
  if (tokens.exp_ms - Date.now() < REFRESH_MARGIN_MS) {
    await refresh();
    return readCognito()?.id_token ?? null;
  }
  return tokens.id_token;
}

/** Tries to get a new ID token (after a 401 or near expiry); true when one was obtained. */
export function refresh() {
  if (authMode() !== 'cognito') return Promise.resolve(false);
  refreshing ??= doRefresh().finally(() => { refreshing = null; });
  return refreshing;
}

async function doRefresh() {
  const tokens = readCognito();
  if (!tokens?.refresh_token) return false;
  try {
    const answer = await postForm(`${config.cognito_domain}/oauth2/token`, {
      grant_type: 'refresh_token',
      client_id: config.client_id,
      refresh_token: tokens.refresh_token,
    });
    // A refresh answer has no new refresh token: keep the old one.
    storeCognito({ ...answer, refresh_token: answer.refresh_token || tokens.refresh_token });
    return true;
  } catch {
    return false;
  }
}

export function clearSession() {
  for (const key of [TOKEN_KEY, COGNITO_KEY, PKCE_KEY]) sessionStorage.removeItem(key);
}

/** Signs out; on Cognito also ends the hosted session (navigates away). */
export function signOut() {
  clearSession();
  if (authMode() === 'cognito') {
    const params = new URLSearchParams({ client_id: config.client_id, logout_uri: config.logout_uri || config.redirect_uri });
    location.assign(`${config.cognito_domain}/logout?${params}`);
    return true;
  }
  return false;
}

function base64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(n) {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** Starts the hosted sign-in: a fresh state and PKCE verifier, then off to Cognito. */
export async function startCognitoSignIn(lang) {
  const state = randomString(24);
  const verifier = randomString(48);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ state, verifier }));
  // The redirect drops the hash: remember where staff were going (a notice's deep link).
  sessionStorage.setItem(RETURN_KEY, location.hash);
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    scope: 'openid email profile',
    state,
    code_challenge: base64url(new Uint8Array(digest)),
    code_challenge_method: 'S256',
    lang: lang === 'en' ? 'en' : 'ja',
  });
  location.assign(`${config.cognito_domain}/oauth2/authorize?${params.toString().replace(/%20/g, '+')}`);
}

/**
 * Finishes a sign-in when the page is Cognito's redirect (?code=&state=). Returns false when
 * it is not; throws an Error whose message is an i18n key when the answer is wrong.
 */
export async function completeCognitoRedirect() {
  const params = new URLSearchParams(location.search);
  if (authMode() !== 'cognito' || (!params.has('code') && !params.has('error'))) return false;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  const returnHash = sessionStorage.getItem(RETURN_KEY) || '';
  sessionStorage.removeItem(PKCE_KEY);
  sessionStorage.removeItem(RETURN_KEY);
  history.replaceState(null, '', location.pathname + returnHash);
  if (params.has('error')) throw new Error('signin.cognito_refused');
  if (!saved || saved.state !== params.get('state')) throw new Error('signin.state_mismatch');
  const answer = await postForm(`${config.cognito_domain}/oauth2/token`, {
    grant_type: 'authorization_code',
    client_id: config.client_id,
    code: params.get('code'),
    redirect_uri: config.redirect_uri,
    code_verifier: saved.verifier,
  });
  storeCognito(answer);
  return true;
}

function jwtExpiryMs(jwt) {
  try {
    const payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload)).exp * 1000;
  } catch {
    return Date.now() + 5 * 60_000;
  }
}

function storeCognito(answer) {
  const tokens = { id_token: answer.id_token, refresh_token: answer.refresh_token, exp_ms: jwtExpiryMs(answer.id_token) };
  sessionStorage.setItem(COGNITO_KEY, JSON.stringify(tokens));
}

function readCognito() {
  try {
    return JSON.parse(sessionStorage.getItem(COGNITO_KEY) || 'null');
  } catch {
    return null;
  }
}
