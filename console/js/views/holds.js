// Legal holds (#/admin/holds): a held conversation's history never expires until released.

import { h, replace } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { get, put, del, convPath, errorText } from '../api.js';
import { state } from '../state.js';
import { conversationName } from '../format.js';

export function openHolds(main) {
  const conv = h('input', { id: 'hold-conversation', class: 'input', required: true, value: state.lastConversationId ?? '', placeholder: 'user:U…', autocomplete: 'off' });
  const reason = h('input', { id: 'hold-reason', class: 'input', required: true, maxlength: 200, autocomplete: 'off' });
  const set = h('button', { id: 'hold-set', type: 'submit', class: 'btn btn-primary' }, t('holds.set'));
  const error = h('p', { id: 'hold-error', class: 'form-error', role: 'alert', hidden: true });
  const ok = h('p', { id: 'hold-status', class: 'form-ok', role: 'status' });
  const body = h('tbody', { id: 'hold-list' });

  const form = h('form', { class: 'hold-form' },
    h('div', { class: 'form-grid' },
      h('div', null, h('label', { for: 'hold-conversation', class: 'field-label' }, t('holds.conversation')), conv),
      h('div', null, h('label', { for: 'hold-reason', class: 'field-label' }, t('holds.reason')), reason),
      h('div', null, set)),
    error, ok);
  replace(main, h('section', { class: 'view', 'aria-labelledby': 'holds-title' },
    h('h2', { id: 'holds-title', class: 'view-title' }, t('holds.title')),
    h('p', { class: 'hint' }, t('holds.lead')), form,
    h('h3', { class: 'view-sub' }, t('holds.list')),
    h('table', { class: 'table' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('holds.conversation')), h('th', { scope: 'col' }, t('holds.reason')),
        h('th', { scope: 'col' }, t('holds.since')), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('holds.actions'))))),
      body)));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = conv.value.trim();
    if (!id || !reason.value.trim()) {
      error.textContent = t('holds.required');
      error.hidden = false;
      return;
    }
    set.disabled = true;
    error.hidden = true;
    try {
      await put(convPath(id, '/hold'), { reason: reason.value.trim() });
      ok.textContent = t('holds.done_set');
      reason.value = '';
      await load();
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      set.disabled = false;
    }
  });

  async function load() {
    try {
      const items = (await get('api/holds')).items || [];
      replace(body, items.length ? items.map(row) : h('tr', null, h('td', { colspan: 4, class: 'empty' }, t('holds.none'))));
    } catch (err) {
      replace(body, h('tr', null, h('td', { colspan: 4, class: 'form-error' }, errorText(err))));
    }
  }

  function row(hold) {
    const id = hold.conversation;
    const known = state.known.get(id);
    const release = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': t('holds.release_label', { id }) }, t('holds.release'));
    release.addEventListener('click', async () => {
      release.disabled = true;
      try {
        await del(convPath(id, '/hold'));
        ok.textContent = t('holds.done_release');
        await load();
      } catch (err) {
        error.textContent = errorText(err);
        error.hidden = false;
        release.disabled = false;
      }
    });
    return h('tr', { 'data-hold': id },
      h('td', null, h('a', { href: `#/c/${encodeURIComponent(id)}` }, known ? conversationName(known) : id), known ? h('div', { class: 'hint' }, id) : null),
      h('td', null, hold.reason),
      h('td', null, hold.since_ms ? formatDateTime(hold.since_ms) : ''),
      h('td', null, release));
  }

  load();
  return { destroy() {} };
}
