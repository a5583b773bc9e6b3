// Boot (config, sign-in state), the hash router (#/…), and wiring between views.

import { $, h, replace } from './dom.js';
import { t, getLang, setLang, setTimeZone } from './i18n.js';
import { configureApi, getPublicJson, get, put, convPath, errorText } from './api.js';
import { initAuth, hasSession, bearer, refresh, clearSession, signOut, completeCognitoRedirect } from './auth.js';
import { state, conversationChanged, isAdmin } from './state.js';
import { renderHeader, markCurrentRoute } from './views/header.js';
import { renderSignIn } from './views/signin.js';
import { createList } from './views/list.js';
import { openConversation } from './views/conversation.js';
import { openSide, loadTags } from './views/side.js';
import { startLive } from './live.js';
import { notifyButton } from './notify.js';
import { installKeyboard } from './keyboard.js';
import { openShortcuts } from './views/shortcuts.js';

const header = $('app-header');
const app = $('app');
const nav = $('list-pane');
const main = $('main');
const aside = $('side-pane');

let list = null;
let conversation = null;   // the open conversation's controller
let side = null;
let view = null;           // another view's {destroy}
let stopLive = null;
let expiring = false;

const VIEWS = {
  search: () => import('./views/search.js').then((m) => m.openSearch(main)),
  canned: () => import('./views/canned.js').then((m) => m.openCanned(main)),
  faq: () => import('./views/faq.js').then((m) => m.openFaq(main)),
  'admin/settings': () => import('./views/settings.js').then((m) => m.openSettings(main)),
  'admin/exports': () => import('./views/exports.js').then((m) => m.openExports(main)),
  'admin/holds': () => import('./views/holds.js').then((m) => m.openHolds(main)),
};

function labelLandmarks() {
  nav.setAttribute('aria-label', t('list.title'));
  aside.setAttribute('aria-label', t('side.title'));
  $('skip-link').textContent = t('app.skip');
}

function drawHeader() {
  renderHeader(header, {
    onLang: changeLanguage,
    onSignOut: () => {
      stopAll();
      if (!signOut()) showSignIn(null);
    },
    onShortcuts: openShortcuts,
    notifyButton,
  });
}

function changeLanguage(lang) {
  setLang(lang);
  labelLandmarks();
  drawHeader();
  if (!state.me) {
    showSignIn(null);
    return;
  }
  list?.destroy();
  list = createList(nav);
  list.reload();
  closeConversation();
  route();
  $('lang')?.focus();
}

function showSignIn(message) {
  stopAll();
  state.me = null;
  app.dataset.view = 'signin';
  nav.hidden = true;
  aside.hidden = true;
  drawHeader();
  renderSignIn(main, { message, onSignedIn: start });
}

/** Any 401 after sign-in: the token was revoked or expired. Back to sign-in, saying so. */
function expire() {
  if (expiring || !state.me) return;
  expiring = true;
  clearSession();
  showSignIn('signin.expired');
  expiring = false;
}

function stopAll() {
  stopLive?.();
  stopLive = null;
  closeConversation();
  view?.destroy?.();
  view = null;
  list?.destroy();
  list = null;
}

function start(me) {
  state.me = me;
  setTimeZone(me.timezone || 'Asia/Tokyo');
  drawHeader();
  nav.hidden = false;
  list = createList(nav);
  list.reload();
  loadTags();
  stopLive = startLive({ list: () => list, conversation: () => conversation, onMe: (fresh) => { state.me = { ...state.me, ...fresh }; drawHeader(); } });
  route();
}

function closeConversation() {
  conversation?.destroy();
  side?.destroy();
  conversation = null;
  side = null;
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  return { path, params: new URLSearchParams(qs || '') };
}

async function route() {
  if (!state.me) return;
  markCurrentRoute(header);
  const { path, params } = parseHash();
  if (path.startsWith('c/')) {
    const id = decodeURIComponent(path.slice(2));
    const target = params.has('at') || params.has('msg') ? { ts: params.get('at'), id: params.get('msg'), text: params.get('q') } : null;
    showConversation(id, target);
    return;
  }
  closeConversation();
  view?.destroy?.();
  view = null;
  list?.markSelected(null);
  aside.hidden = true;
  if (VIEWS[path]) {
    app.dataset.view = path.replace('/', '-');
    if (path.startsWith('admin/') && !isAdmin()) {
      replace(main, h('section', { class: 'view' }, h('h2', { class: 'view-title' }, t('admin.title')), h('p', { role: 'alert' }, t('admin.forbidden'))));
      return;
    }
    try {
      view = await VIEWS[path]();
    } catch (err) {
      replace(main, h('p', { role: 'alert', class: 'form-error' }, errorText(err)));
    }
    return;
  }
  app.dataset.view = 'inbox';
  replace(main, h('section', { class: 'empty-state' },
    h('h2', { class: 'empty-title' }, t('conv.none_title')),
    h('p', null, t('conv.none_text')),
    h('p', { class: 'hint' }, t('conv.none_hint'))));
}

function showConversation(id, target) {
  app.dataset.view = 'conversation';
  state.lastConversationId = id;
  view?.destroy?.();
  view = null;
  if (conversation?.id === id && !target) return;
  closeConversation();
  aside.hidden = false;
  list?.markSelected(id);
  conversation = openConversation(main, id, { target });
  side = openSide(aside, id, { onTagFilter: (tagId) => list?.filterByTag(tagId) });
  if (!target) conversation.composer.focus();
}

/** Alt+J / Alt+K: the next or previous row of the list. */
function step(delta) {
  const ids = state.listIds;
  if (!ids.length) return;
  const at = ids.indexOf(conversation?.id);
  const next = at < 0 ? (delta > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, at + delta));
  location.hash = `#/c/${encodeURIComponent(ids[next])}`;
}

async function resolveOpen() {
  const id = conversation?.id;
  if (!id) return;
  try {
    conversationChanged(await put(convPath(id, '/status'), { status: 'resolved' }));
    $('announcer').textContent = t('side.status_done_resolved');
  } catch (err) {
    $('announcer').textContent = errorText(err);
  }
}

async function boot() {
  document.documentElement.lang = getLang();
  labelLandmarks();
  try {
    state.config = await getPublicJson('config.json');
  } catch {
    state.config = { auth: 'token' };
  }
  initAuth(state.config);
  configureApi({ apiBase: state.config.api_base, bearer, refresh, unauthorized: expire });
  $('skip-link').addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
  window.addEventListener('hashchange', route);
  installKeyboard({ next: () => step(1), previous: () => step(-1), resolve: resolveOpen, shortcuts: openShortcuts, composer: () => conversation?.composer });
  try {
    await completeCognitoRedirect();
  } catch (e) {
    showSignIn(String(e.message).startsWith('signin.') ? e.message : 'signin.cognito_failed');
    return;
  }
  if (!hasSession()) {
    showSignIn(null);
    return;
  }
  try {
    start(await get('api/me'));
  } catch (err) {
    if (err.status === 401) {
      clearSession();
      showSignIn('signin.expired');
    } else {
      showSignIn(null);
      const e = $('signin-error');
      e.textContent = errorText(err);
      e.hidden = false;
    }
  }
}

boot();
