// The keyboard shortcuts dialog (`?`): a modal <dialog>, focus on open, back where it was on close.

import { $, h, replace } from '../dom.js';
import { t } from '../i18n.js';

const KEYS = [
  ['Alt + J', 'shortcuts.next'],
  ['Alt + K', 'shortcuts.previous'],
  ['Alt + E', 'shortcuts.resolve'],
  ['Enter', 'shortcuts.send'],
  ['Shift + Enter', 'shortcuts.newline'],
  ['/', 'shortcuts.canned'],
  ['Esc', 'shortcuts.close'],
  ['?', 'shortcuts.help'],
];

export function openShortcuts() {
  const dialog = $('shortcuts-dialog');
  if (dialog.open) return;
  const opener = document.activeElement;
  const close = h('button', { type: 'button', id: 'shortcuts-close', class: 'btn btn-secondary' }, t('dialog.close'));
  close.addEventListener('click', () => dialog.close());
  replace(dialog,
    h('h2', { id: 'shortcuts-title', class: 'dialog-title' }, t('shortcuts.title')),
    h('dl', { class: 'shortcut-list' }, KEYS.map(([keys, label]) => [h('dt', null, h('kbd', null, keys)), h('dd', null, t(label))])),
    h('p', { class: 'hint' }, t('shortcuts.ctrl_note')),
    h('div', { class: 'dialog-actions' }, close));
  dialog.addEventListener('close', () => opener?.focus?.(), { once: true });
  dialog.showModal();
  close.focus();
}
