// The header: account, staff member and role, the mode in force, menu, language, sign-out.

import { h, replace } from '../dom.js';
import { t, getLang } from '../i18n.js';
import { state, isAdmin } from '../state.js';
import { modePhrase, modeReason } from '../format.js';

/**
 * `handlers`: {onLang(lang), onSignOut(), onShortcuts(), notifyButton(): Node|null}.
 * Signed out, only the brand and the language switch show.
 */
export function renderHeader(el, handlers) {
  const me = state.me;
  const lang = h('select', { id: 'lang', class: 'select select-small' },
    h('option', { value: 'ja', selected: getLang() === 'ja' }, '日本語'),
    h('option', { value: 'en', selected: getLang() === 'en' }, 'English'));
  lang.addEventListener('change', () => handlers.onLang(lang.value));
  const langField = h('div', { class: 'header-lang' },
    h('label', { for: 'lang', class: 'header-lang-label' }, t('header.language')), lang);

  const brand = h('div', { class: 'brand' },
    h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'L'),
    me ? h('h1', { class: 'brand-name', id: 'account-name' }, me.account_name || 'line-oa')
      : h('span', { class: 'brand-name' }, 'line-oa'));

  if (!me) {
    replace(el, brand, h('div', { class: 'header-spacer' }), langField);
    return;
  }

  const link = (href, key, id) => h('a', { href, id, class: 'menu-link', 'data-route': href }, t(key));
  const menu = h('nav', { class: 'menu', 'aria-label': t('header.menu') },
    h('ul', { class: 'menu-list' },
      h('li', null, link('#/', 'menu.inbox', 'menu-inbox')),
      h('li', null, link('#/search', 'menu.search', 'menu-search')),
      h('li', null, link('#/canned', 'menu.canned', 'menu-canned')),
      h('li', null, link('#/faq', 'menu.faq', 'menu-faq')),
      isAdmin() && h('li', null, link('#/admin/settings', 'menu.settings', 'menu-settings')),
      isAdmin() && h('li', null, link('#/admin/exports', 'menu.exports', 'menu-exports')),
      isAdmin() && h('li', null, link('#/admin/holds', 'menu.holds', 'menu-holds'))));

  const response = me.response;
  const mode = response && h('p', { id: 'header-mode', class: 'header-mode', title: modeReason(response) || '' },
    h('span', { class: 'header-mode-label' }, t('header.mode')), ' ',
    h('strong', null, modePhrase(response)));

  const staff = h('p', { id: 'header-staff', class: 'header-staff' },
    h('span', { class: 'staff-name' }, me.name), ' ',
    h('span', { class: `role-badge role-${me.role}` }, t(`role.${me.role}`)));

  const shortcuts = h('button', { type: 'button', id: 'shortcuts-open', class: 'btn btn-ghost btn-small', 'aria-haspopup': 'dialog', title: t('shortcuts.title') }, '?');
  shortcuts.setAttribute('aria-label', t('shortcuts.title'));
  shortcuts.addEventListener('click', handlers.onShortcuts);
  const signOut = h('button', { type: 'button', id: 'sign-out', class: 'btn btn-ghost btn-small' }, t('header.sign_out'));
  signOut.addEventListener('click', handlers.onSignOut);

  replace(el, brand, menu, h('div', { class: 'header-spacer' }), mode, staff, handlers.notifyButton(), langField, shortcuts, signOut);
  markCurrentRoute(el);
}

/** aria-current on the menu link of the view shown. */
export function markCurrentRoute(el) {
  const hash = location.hash || '#/';
  for (const a of el.querySelectorAll('.menu-link')) {
    const route = a.getAttribute('data-route');
    const current = route === '#/' ? hash === '#/' || hash.startsWith('#/c/') : hash.startsWith(route);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}
