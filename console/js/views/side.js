// The side pane: who this is (LINE name, staff-set name), status, mode pin, tags, spam, notes.

import { h, replace } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { get, post, put, del, convPath, errorText } from '../api.js';
import { state, on, emit, conversationChanged } from '../state.js';
import { conversationName, initials, shortId } from '../format.js';

const TAGS_PER_USER = 10;
const TAGS_TOTAL = 200;
const PIN_MINUTES = 120;

export async function loadTags() {
  try {
    state.tags = (await get('api/tags')).items || [];
    emit('tags');
  } catch { /* the list and pane work without tags */ }
}

function announce(text) {
  const el = document.getElementById('announcer');
  if (el) el.textContent = text;
}

export function openSide(aside, id, { onTagFilter } = {}) {
  const section = (key, ...children) => h('section', { class: 'side-section', 'aria-labelledby': `side-${key}-title` },
    h('h3', { class: 'side-title', id: `side-${key}-title` }, t(`side.${key}`)), children);
  const errorBox = (key) => h('p', { id: `${key}-error`, class: 'form-error', role: 'alert', hidden: true });

  // Runs a change; the API answers with the conversation, which every view re-renders from.
  async function act(button, errEl, fn, done) {
    button.disabled = true;
    errEl.hidden = true;
    try {
      const c = await fn();
      if (c?.id) conversationChanged(c);
      if (done) announce(done);
    } catch (err) {
      errEl.textContent = errorText(err);
      errEl.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  // Profile
  const picture = h('div', { class: 'side-avatar' });
  const lineName = h('dd', { id: 'side-line-name' });
  const nameInput = h('input', { id: 'staff-name', class: 'input', maxlength: 100, autocomplete: 'off' });
  const nameSave = h('button', { id: 'staff-name-save', type: 'submit', class: 'btn btn-secondary btn-small' }, t('side.save'));
  const nameError = errorBox('staff-name');
  const nameForm = h('form', { class: 'side-form inline-form' },
    h('label', { for: 'staff-name', class: 'field-label' }, t('side.staff_name')),
    h('div', { class: 'inline-row' }, nameInput, nameSave),
    h('p', { class: 'hint' }, t('side.staff_name_hint')), nameError);
  nameForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    act(nameSave, nameError, () => put(convPath(id, '/name'), { name: name || null }), t('side.saved'));
  });
  const idText = h('dd', { class: 'side-id' }, id);

  // Status
  const statusNow = h('p', { id: 'status-current', class: 'side-current' });
  const statusError = errorBox('status');
  // A segmented control: the pressed one is the state now (open, follow-up, resolved).
  const statusButtons = ['open', 'needs_attention', 'resolved'].map((s) => {
    const b = h('button', { type: 'button', id: `status-${s}`, class: 'btn btn-secondary btn-small' }, t(`side.status_${s}`));
    b.addEventListener('click', () => act(b, statusError, () => put(convPath(id, '/status'), { status: s }), t(`side.status_done_${s}`)));
    return b;
  });

  // Mode pin
  const pinNow = h('p', { id: 'pin-current', class: 'side-current' });
  const pinError = errorBox('pin');
  const pin2h = h('button', { type: 'button', id: 'pin-2h', class: 'btn btn-secondary btn-small' }, t('side.pin_2h'));
  const pinAlways = h('button', { type: 'button', id: 'pin-always', class: 'btn btn-secondary btn-small' }, t('side.pin_always'));
  const pinRelease = h('button', { type: 'button', id: 'pin-release', class: 'btn btn-secondary btn-small' }, t('side.pin_release'));
  pin2h.addEventListener('click', () => act(pin2h, pinError, () => put(convPath(id, '/pin'), { mode: 'chat', minutes: PIN_MINUTES }), t('side.pinned')));
  pinAlways.addEventListener('click', () => act(pinAlways, pinError, () => put(convPath(id, '/pin'), { mode: 'chat' }), t('side.pinned')));
  pinRelease.addEventListener('click', () => act(pinRelease, pinError, () => del(convPath(id, '/pin')), t('side.unpinned')));

  // Tags
  const tagList = h('ul', { id: 'tag-list', class: 'tag-list' });
  const tagSelect = h('select', { id: 'tag-select', class: 'select select-small' });
  const tagAdd = h('button', { id: 'tag-add', type: 'button', class: 'btn btn-secondary btn-small' }, t('side.tag_add'));
  const tagNew = h('input', { id: 'tag-new', class: 'input input-small', maxlength: 20, autocomplete: 'off' });
  const tagCreate = h('button', { id: 'tag-create', type: 'submit', class: 'btn btn-secondary btn-small' }, t('side.tag_create'));
  const tagError = errorBox('tag');
  tagAdd.addEventListener('click', () => {
    if (!tagSelect.value) return;
    act(tagAdd, tagError, () => put(convPath(id, `/tags/${encodeURIComponent(tagSelect.value)}`)), t('side.tag_added'));
  });
  const tagForm = h('form', { class: 'side-form' },
    h('label', { for: 'tag-new', class: 'field-label' }, t('side.tag_new')),
    h('div', { class: 'inline-row' }, tagNew, tagCreate));
  tagForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = tagNew.value.trim();
    if (!name) return;
    act(tagCreate, tagError, async () => {
      // A tag of that name already exists: add it rather than fail.
      const tag = state.tags.find((x) => x.name.trim().toLowerCase() === name.toLowerCase()) ?? await post('api/tags', { name });
      await loadTags();
      const c = await put(convPath(id, `/tags/${encodeURIComponent(tag.id)}`));
      tagNew.value = '';
      return c;
    }, t('side.tag_added'));
  });

  // Spam
  const spam = h('button', { type: 'button', id: 'spam-toggle', class: 'btn btn-secondary btn-small' });
  const spamError = errorBox('spam');
  spam.addEventListener('click', () => {
    const isSpam = state.conversation?.spam;
    act(spam, spamError, () => (isSpam ? del(convPath(id, '/spam')) : put(convPath(id, '/spam'))), isSpam ? t('side.spam_off_done') : t('side.spam_on_done'));
  });

  // Notes
  const noteList = h('ul', { id: 'note-list', class: 'note-list' });
  const noteText = h('textarea', { id: 'note-text', class: 'textarea', rows: 3, maxlength: 1000 });
  const noteAdd = h('button', { id: 'note-add', type: 'submit', class: 'btn btn-secondary btn-small' }, t('side.note_add'));
  const noteError = errorBox('note');
  const noteForm = h('form', { class: 'side-form' },
    h('label', { for: 'note-text', class: 'field-label' }, t('side.note_label')), noteText, h('div', { class: 'inline-row end' }, noteAdd), noteError);
  noteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = noteText.value.trim();
    if (!text) return;
    noteAdd.disabled = true;
    noteError.hidden = true;
    try {
      await post(convPath(id, '/notes'), { text });
      noteText.value = '';
      announce(t('side.note_added'));
      await loadNotes();
    } catch (err) {
      noteError.textContent = errorText(err);
      noteError.hidden = false;
    } finally {
      noteAdd.disabled = false;
    }
  });

  async function loadNotes() {
    try {
      const items = (await get(convPath(id, '/notes'))).items || [];
      replace(noteList, items.length ? items.map(noteItem) : h('li', { class: 'empty' }, t('side.no_notes')));
    } catch (err) {
      replace(noteList, h('li', { class: 'form-error' }, errorText(err)));
    }
  }

  function noteItem(n) {
    const remove = h('button', { type: 'button', class: 'btn btn-link btn-small note-delete', 'aria-label': t('side.note_delete_label', { by: n.by, at: formatDateTime(n.at_ms) }) }, t('side.delete'));
    remove.addEventListener('click', async () => {
      remove.disabled = true;
      try {
        await del(convPath(id, `/notes/${encodeURIComponent(n.id)}`));
        announce(t('side.note_deleted'));
        await loadNotes();
      } catch (err) {
        noteError.textContent = errorText(err);
        noteError.hidden = false;
        remove.disabled = false;
      }
    });
    return h('li', { class: 'note', 'data-note': n.id },
      h('p', { class: 'note-text' }, n.text),
      h('p', { class: 'note-meta' }, `${n.by}・${formatDateTime(n.at_ms)}`, ' ', remove));
  }

  replace(aside,
    h('h2', { class: 'visually-hidden' }, t('side.title')),
    section('profile', picture,
      h('dl', { class: 'side-dl' }, h('dt', null, t('side.line_name')), lineName, h('dt', null, t('side.id')), idText),
      nameForm),
    section('status', statusNow, h('div', { class: 'btn-row' }, statusButtons), statusError),
    section('mode', pinNow, h('div', { class: 'btn-row' }, pin2h, pinAlways, pinRelease), pinError),
    section('tags', tagList,
      h('div', { class: 'side-form' }, h('label', { for: 'tag-select', class: 'field-label' }, t('side.tag_existing')), h('div', { class: 'inline-row' }, tagSelect, tagAdd)),
      tagForm,
      h('p', { class: 'hint', id: 'tag-limits' }, t('side.tag_limits', { per: TAGS_PER_USER, total: TAGS_TOTAL })),
      tagError),
    section('spam', spam, spamError),
    section('notes', noteList, noteForm));

  function update(c) {
    if (!c || c.id !== id) return;
    const name = conversationName(c);
    replace(picture, c.picture_url
      ? h('img', { src: c.picture_url, alt: '', width: 64, height: 64, class: 'avatar avatar-large', referrerpolicy: 'no-referrer' })
      : h('span', { class: 'avatar avatar-large avatar-initials', 'aria-hidden': 'true' }, initials(name)),
      h('p', { class: 'side-name' }, name));
    lineName.textContent = c.display_name || t('side.unknown_name');
    if (document.activeElement !== nameInput) nameInput.value = c.staff_name || '';

    const current = c.resolved ? 'resolved' : c.needs_attention ? 'needs_attention' : 'open';
    statusNow.textContent = t('side.status_now', { status: t(`side.state_${current}`) });
    if (c.needs_attention && c.attention_reason) statusNow.append(h('span', { class: 'side-reason' }, ` (${c.attention_reason})`));
    for (const b of statusButtons) b.setAttribute('aria-pressed', String(b.id === `status-${current}`));

    pinNow.textContent = c.pin
      ? (c.pin.until_ms ? t('conv.pin_until', { mode: t(`mode.${c.pin.mode}`), until: formatDateTime(c.pin.until_ms), by: c.pin.by })
        : t('conv.pin_always', { mode: t(`mode.${c.pin.mode}`), by: c.pin.by }))
      : t('side.no_pin');
    pinRelease.disabled = !c.pin;

    spam.textContent = c.spam ? t('side.spam_off') : t('side.spam_on');
    spam.setAttribute('aria-pressed', String(Boolean(c.spam)));
    renderTags(c);
  }

  function renderTags(c = state.conversation) {
    if (!c || c.id !== id) return;
    const mine = c.tags || [];
    replace(tagList, mine.length ? mine.map((tag) => {
      const filter = h('button', { type: 'button', class: 'tag-chip', title: t('side.tag_filter') }, tag.name);
      filter.addEventListener('click', () => onTagFilter?.(tag.id));
      const remove = h('button', { type: 'button', class: 'tag-remove', 'aria-label': t('side.tag_remove', { name: tag.name }) }, '×');
      remove.addEventListener('click', () => act(remove, tagError, () => del(convPath(id, `/tags/${encodeURIComponent(tag.id)}`)), t('side.tag_removed')));
      return h('li', { class: 'tag' }, filter, remove);
    }) : h('li', { class: 'empty' }, t('side.no_tags')));
    const available = state.tags.filter((tag) => !mine.some((m) => m.id === tag.id));
    replace(tagSelect, h('option', { value: '' }, t('side.tag_choose')), available.map((tag) => h('option', { value: tag.id }, tag.name)));
    tagAdd.disabled = mine.length >= TAGS_PER_USER;
  }

  aside.scrollTop = 0;  // the same pane shows each conversation: start at its top
  const offs = [on('conversation', update), on('tags', () => renderTags())];
  if (state.conversation?.id === id) update(state.conversation);
  else replace(picture, h('p', { class: 'side-name' }, shortId(id)));
  loadNotes();

  return { destroy: () => offs.forEach((off) => off()) };
}
