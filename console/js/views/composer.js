// The reply box: IME-safe Enter, UTF-16 counter, `/` canned replies, one send per draft
// (client_id), disabled with a reason when LINE would refuse, "new message while typing".

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { post, convPath, errorText } from '../api.js';
import { replyBlock } from '../format.js';
import { createCannedPicker } from './canned-picker.js';

export const MAX_TEXT = 5000;  // LINE's limit for a text message, in UTF-16 code units
const CTRL_ENTER_KEY = 'loa.sendWithCtrlEnter';
// Safari fires the Enter that confirms a conversion just after compositionend.
const AFTER_COMPOSITION_MS = 80;

// Drafts survive switching conversations: {text, attempt: {clientId, text}}.
const drafts = new Map();

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function createComposer(container, { onSent }) {
  let conversation = null;
  let sending = false;
  let composing = false;
  let compositionEndedAt = 0;
  let newWhileTyping = false;

  const textarea = h('textarea', { id: 'composer-text', class: 'composer-text', rows: 3, 'aria-label': t('composer.label'), 'aria-describedby': 'composer-count composer-hint', placeholder: t('composer.placeholder') });
  const count = h('span', { id: 'composer-count', class: 'composer-count' });
  const send = h('button', { id: 'composer-send', type: 'submit', class: 'btn btn-primary' }, t('composer.send'));
  const reason = h('p', { id: 'composer-disabled-reason', class: 'composer-disabled', hidden: true });
  const error = h('p', { id: 'composer-error', class: 'form-error', role: 'alert', hidden: true });
  const notice = h('p', { id: 'composer-new-message', class: 'composer-notice', role: 'alert', hidden: true }, t('composer.new_message'));
  const noticeHint = h('p', { id: 'composer-new-message-hint', class: 'composer-notice-hint', hidden: true }, t('composer.new_message_confirm'));
  const ctrlEnter = h('input', { id: 'composer-ctrl-enter', type: 'checkbox', checked: localStorage.getItem(CTRL_ENTER_KEY) === '1' });
  const hint = h('span', { id: 'composer-hint', class: 'composer-hint' });
  const cannedButton = h('button', { id: 'canned-open', type: 'button', class: 'btn btn-ghost btn-small' }, t('composer.canned'));

  const picker = createCannedPicker(textarea, insertCanned);
  let pickerAtCaret = null;  // opened from the button: insert at this caret instead of replacing "/…"

  const form = h('form', { id: 'composer', class: 'composer', 'aria-label': t('composer.form_label') },
    notice, noticeHint, reason, error,
    h('div', { class: 'composer-box' }, picker.element, textarea),
    h('div', { class: 'composer-bar' },
      cannedButton,
      h('label', { class: 'composer-pref', for: 'composer-ctrl-enter' }, ctrlEnter, ' ', t('composer.ctrl_enter')),
      hint,
      h('span', { class: 'composer-spacer' }),
      count,
      send));
  container.replaceChildren(form);

  function draft() {
    const id = conversation?.id ?? '';
    if (!drafts.has(id)) drafts.set(id, { text: '', attempt: null });
    return drafts.get(id);
  }

  function blocked() {
    return replyBlock(conversation);
  }

  function refresh() {
    const n = textarea.value.length;
    const over = n > MAX_TEXT;
    count.textContent = over ? t('composer.count_over', { n, max: MAX_TEXT }) : t('composer.count', { n, max: MAX_TEXT });
    count.classList.toggle('is-over', over);
    const why = blocked();
    textarea.disabled = Boolean(why);
    cannedButton.disabled = Boolean(why);
    send.disabled = sending || Boolean(why) || over || !textarea.value.trim();
    send.setAttribute('aria-busy', String(sending));
    send.textContent = sending ? t('composer.sending') : t('composer.send');
    reason.hidden = !why;
    reason.textContent = why ? t(`composer.blocked.${why}`) : '';
    hint.textContent = ctrlEnter.checked ? t('composer.hint_ctrl') : t('composer.hint_enter');
    if (!textarea.value.trim()) hideNotice();
  }

  function hideNotice() {
    newWhileTyping = false;
    notice.hidden = true;
    noticeHint.hidden = true;
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  function insertCanned(reply) {
    const value = textarea.value;
    if (pickerAtCaret) {
      const { start, end } = pickerAtCaret;
      textarea.value = value.slice(0, start) + reply.text + value.slice(end);
      textarea.selectionStart = textarea.selectionEnd = start + reply.text.length;
    } else {
      // Replace the "/query" line with the reply; keep anything typed below it.
      const nl = value.indexOf('\n');
      const rest = nl >= 0 ? value.slice(nl) : '';
      textarea.value = reply.text + rest;
      textarea.selectionStart = textarea.selectionEnd = reply.text.length;
    }
    pickerAtCaret = null;
    draft().text = textarea.value;
    refresh();
    textarea.focus();
  }

  function updatePicker() {
    const value = textarea.value;
    if (pickerAtCaret) return;
    if (value.startsWith('/') && textarea.selectionStart <= (value.indexOf('\n') >= 0 ? value.indexOf('\n') : value.length)) {
      const firstLine = value.split('\n')[0];
      picker.open(firstLine.slice(1).trim());
    } else {
      picker.close();
    }
  }

  textarea.addEventListener('compositionstart', () => { composing = true; });
  textarea.addEventListener('compositionend', () => { composing = false; compositionEndedAt = performance.now(); });
  textarea.addEventListener('input', () => {
    draft().text = textarea.value;
    showError('');
    refresh();
    updatePicker();
  });
  textarea.addEventListener('blur', () => { setTimeout(() => { if (document.activeElement !== textarea) { picker.close(); pickerAtCaret = null; } }, 0); });
  textarea.addEventListener('keydown', (event) => {
    // An Enter that confirms an IME conversion (Japanese input) must never send.
    if (event.isComposing || event.keyCode === 229 || composing) return;
    if (picker.handleKey(event)) return;
    if (event.key !== 'Enter' || event.altKey) return;
    if (performance.now() - compositionEndedAt < AFTER_COMPOSITION_MS) return;
    const withModifier = event.ctrlKey || event.metaKey;
    const wantsSend = ctrlEnter.checked ? withModifier : !event.shiftKey;
    if (!wantsSend) return;
    event.preventDefault();
    submit();
  });
  ctrlEnter.addEventListener('change', () => {
    localStorage.setItem(CTRL_ENTER_KEY, ctrlEnter.checked ? '1' : '0');
    refresh();
  });
  cannedButton.addEventListener('click', () => openCanned());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });

  /** Opens the canned picker from a button or shortcut: inserts at the caret. */
  function openCanned() {
    if (blocked()) return;
    textarea.focus();
    pickerAtCaret = { start: textarea.selectionStart, end: textarea.selectionEnd };
    picker.open('');
  }

  async function submit() {
    if (sending || !conversation) return;
    const text = textarea.value;
    if (!text.trim() || text.length > MAX_TEXT || blocked()) return;
    if (newWhileTyping) {
      // First press after a new message arrived: make sure they have seen it.
      newWhileTyping = false;
      noticeHint.hidden = false;
      notice.hidden = false;
      return;
    }
    const d = draft();
    // The same draft keeps its id, so a retry after a lost answer sends once; an edited text is a new draft.
    if (!d.attempt || d.attempt.text !== text) d.attempt = { clientId: newClientId(), text };
    const convId = conversation.id;
    sending = true;
    showError('');
    refresh();
    try {
      const record = await post(convPath(convId, '/messages'), { messages: [{ type: 'text', text }], client_id: d.attempt.clientId });
      d.attempt = null;
      hideNotice();
      if (record?.status === 'failed') {
        showError(t('composer.failed', { error: record.error || '' }));
      } else if (conversation?.id === convId) {
        textarea.value = '';
        d.text = '';
      }
      onSent(record);
    } catch (err) {
      // Refused before anything was sent (4xx) or LINE said no (502): a retry is a new attempt.
      // No answer (network, 503): keep the id so a retry cannot send twice.
      if ((err.status >= 400 && err.status < 500) || err.status === 502) d.attempt = null;
      showError(errorText(err));
    } finally {
      sending = false;
      refresh();
      if (conversation?.id === convId) textarea.focus();
    }
  }

  return {
    setConversation(c) {
      const switched = conversation?.id !== c?.id;
      conversation = c;
      if (switched) {
        textarea.value = draft().text;
        picker.close();
        hideNotice();
        showError('');
      }
      refresh();
    },
    /** A customer's message arrived: warn whoever is mid-reply. */
    noteInbound() {
      if (!textarea.value.trim()) return;
      newWhileTyping = true;
      notice.hidden = false;
      noticeHint.hidden = true;
    },
    openCanned,
    focus() { if (!textarea.disabled) textarea.focus(); },
    closePicker() { picker.close(); },
  };
}
