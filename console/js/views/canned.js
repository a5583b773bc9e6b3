// Canned replies (#/canned): list, search, create, edit, delete. Name + text, text counted in
// UTF-16 units as LINE counts it.

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, put, del, errorText } from '../api.js';
import { MAX_TEXT } from './composer.js';
import { twoPressButton } from '../two-press.js';

export function openCanned(main) {
  let editing = null;  // the reply being edited, or null for a new one

  const search = h('input', { id: 'canned-q', type: 'search', class: 'input', autocomplete: 'off' });
  const list = h('ul', { id: 'canned-list', class: 'canned-list' });
  const listStatus = h('p', { class: 'hint', role: 'status' });

  const name = h('input', { id: 'canned-name', class: 'input', maxlength: 100, required: true, autocomplete: 'off' });
  const text = h('textarea', { id: 'canned-text', class: 'textarea', rows: 5, required: true, 'aria-describedby': 'canned-count' });
  const count = h('span', { id: 'canned-count', class: 'composer-count' });
  const save = h('button', { id: 'canned-save', type: 'submit', class: 'btn btn-primary' }, t('canned.create'));
  const cancel = h('button', { id: 'canned-cancel', type: 'button', class: 'btn btn-secondary', hidden: true }, t('canned.cancel'));
  const error = h('p', { id: 'canned-error', class: 'form-error', role: 'alert', hidden: true });
  const ok = h('p', { id: 'canned-status', class: 'form-ok', role: 'status' });
  const formTitle = h('h3', { id: 'canned-form-title', class: 'view-sub' }, t('canned.new_title'));

  const form = h('form', { class: 'canned-form', 'aria-labelledby': 'canned-form-title' },
    formTitle,
    h('label', { for: 'canned-name', class: 'field-label' }, t('canned.name')), name,
    h('label', { for: 'canned-text', class: 'field-label' }, t('canned.text')), text,
    h('div', { class: 'actions' }, count, h('span', { class: 'composer-spacer' }), cancel, save),
    error, ok);

  replace(main, h('section', { class: 'view', 'aria-labelledby': 'canned-title' },
    h('h2', { id: 'canned-title', class: 'view-title' }, t('canned.title')),
    h('p', { class: 'hint' }, t('canned.lead')),
    form,
    h('h3', { class: 'view-sub' }, t('canned.list_title')),
    h('label', { for: 'canned-q', class: 'field-label' }, t('canned.search')), search,
    listStatus, list));

  function updateCount() {
    const n = text.value.length;
    count.textContent = n > MAX_TEXT ? t('composer.count_over', { n, max: MAX_TEXT }) : t('composer.count', { n, max: MAX_TEXT });
    count.classList.toggle('is-over', n > MAX_TEXT);
    save.disabled = n > MAX_TEXT;
  }
  text.addEventListener('input', updateCount);
  updateCount();

  function edit(reply) {
    editing = reply;
    name.value = reply?.name ?? '';
    text.value = reply?.text ?? '';
    formTitle.textContent = reply ? t('canned.edit_title', { name: reply.name }) : t('canned.new_title');
    save.textContent = reply ? t('canned.update') : t('canned.create');
    cancel.hidden = !reply;
    error.hidden = true;
    updateCount();
    if (reply) name.focus();
  }
  cancel.addEventListener('click', () => edit(null));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim() || !text.value.trim()) {
      error.textContent = t('canned.required');
      error.hidden = false;
      return;
    }
    save.disabled = true;
    error.hidden = true;
    try {
      const body = { name: name.value.trim(), text: text.value };
      if (editing) await put(`api/canned-replies/${encodeURIComponent(editing.id)}`, body);
      else await post('api/canned-replies', body);
      ok.textContent = editing ? t('canned.updated') : t('canned.created');
      edit(null);
      await load();
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    } finally {
      updateCount();
    }
  });

  async function load() {
    try {
      const items = (await get('api/canned-replies', { q: search.value.trim() || undefined })).items || [];
      replace(list, items.map(item));
      listStatus.textContent = items.length ? t('canned.count', { n: items.length }) : t('canned.none');
    } catch (err) {
      listStatus.textContent = errorText(err);
    }
  }
  search.addEventListener('input', debounce(load, 250));

  function item(reply) {
    const editButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': t('canned.edit_label', { name: reply.name }) }, t('canned.edit'));
    editButton.addEventListener('click', () => edit(reply));
    const remove = twoPressButton({
      text: t('canned.delete'),
      label: t('canned.delete_label', { name: reply.name }),
      confirmText: t('canned.delete_confirm'),
      confirmLabel: t('canned.delete_confirm_label', { name: reply.name }),
      action: async () => {
        await del(`api/canned-replies/${encodeURIComponent(reply.id)}`);
        ok.textContent = t('canned.deleted');
        if (editing?.id === reply.id) edit(null);
        await load();
      },
      onError: (err) => { listStatus.textContent = errorText(err); },
    });
    return h('li', { class: 'canned-item', 'data-canned': reply.id },
      h('div', { class: 'canned-item-main' },
        h('p', { class: 'canned-item-name' }, reply.name),
        h('p', { class: 'canned-item-text' }, reply.text)),
      editButton, remove);
  }

  load();
  return { destroy() {} };
}
