// FAQ / よくある質問 (#/faq): every staff member sees the entries and tries messages against
// them; admins add, edit and delete (each a versioned save of the settings). "Try it" uses the
// entry being edited, unsaved, so a phrasing can be tested before customers get it.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, put, api, errorText } from '../api.js';
import { state, isAdmin } from '../state.js';
import { modeLabel } from '../format.js';
import { MAX_TEXT } from './composer.js';
import { twoPressButton } from '../two-press.js';

/** The modes in which the FAQ answers customers (see domain/rules.rs). */
const FAQ_MODES = ['smart_chat', 'ai_response'];

export function openFaq(main) {
  const admin = isAdmin();
  let version = null;
  let minScore = null;
  let items = [];
  let editing = null; // the entry being edited, or null for a new one

  // ---- list ----
  const list = h('ul', { id: 'faq-list', class: 'faq-list' });
  const listStatus = h('p', { id: 'faq-list-status', class: 'hint', role: 'status' });
  const lead = h('p', { id: 'faq-lead', class: 'hint' });
  const modeHint = h('p', { id: 'faq-mode-hint', class: 'notice-inline', hidden: true });

  // ---- the form (admins) ----
  const id = h('input', { id: 'faq-id', class: 'input', maxlength: 64, autocomplete: 'off', 'aria-describedby': 'faq-id-hint' });
  const questions = h('textarea', { id: 'faq-questions', class: 'textarea', rows: 4, 'aria-describedby': 'faq-questions-hint' });
  const answer = h('textarea', { id: 'faq-answer', class: 'textarea', rows: 4, 'aria-describedby': 'faq-answer-count' });
  const answerEn = h('textarea', { id: 'faq-answer-en', class: 'textarea', rows: 3, 'aria-describedby': 'faq-answer-en-hint' });
  const count = h('span', { id: 'faq-answer-count', class: 'composer-count' });
  const save = h('button', { id: 'faq-save', type: 'submit', class: 'btn btn-primary' }, t('faq.create'));
  const cancel = h('button', { id: 'faq-cancel', type: 'button', class: 'btn btn-secondary', hidden: true }, t('faq.cancel'));
  const error = h('p', { id: 'faq-error', class: 'form-error', role: 'alert', hidden: true });
  const reload = h('button', { id: 'faq-reload', type: 'button', class: 'btn btn-secondary btn-small' }, t('faq.reload'));
  const conflict = h('div', { id: 'faq-conflict', class: 'form-error', role: 'alert', hidden: true }, h('p', null, t('faq.conflict')), reload);
  const ok = h('p', { id: 'faq-status', class: 'form-ok', role: 'status' });
  const formTitle = h('h3', { id: 'faq-form-title', class: 'view-sub' }, t('faq.new_title'));
  const form = h('form', { id: 'faq-form', class: 'faq-form', 'aria-labelledby': 'faq-form-title' },
    formTitle,
    h('label', { for: 'faq-id', class: 'field-label' }, t('faq.id')), id,
    h('p', { id: 'faq-id-hint', class: 'hint' }, t('faq.id_hint')),
    h('label', { for: 'faq-questions', class: 'field-label' }, t('faq.questions')), questions,
    h('p', { id: 'faq-questions-hint', class: 'hint' }, t('faq.questions_hint')),
    h('label', { for: 'faq-answer', class: 'field-label' }, t('faq.answer')), answer,
    h('label', { for: 'faq-answer-en', class: 'field-label' }, t('faq.answer_en')), answerEn,
    h('p', { id: 'faq-answer-en-hint', class: 'hint' }, t('faq.answer_en_hint')),
    h('div', { class: 'actions' }, count, h('span', { class: 'composer-spacer' }), cancel, save),
    error, conflict, ok);

  // ---- try it ----
  const tryText = h('input', { id: 'faq-try-text', class: 'input', autocomplete: 'off', placeholder: t('faq.try_placeholder') });
  const tryRun = h('button', { id: 'faq-try-run', type: 'submit', class: 'btn btn-secondary' }, t('faq.try_run'));
  const tryResult = h('div', { id: 'faq-try-result', class: 'faq-try-result', 'aria-live': 'polite' });
  const tryForm = h('form', { id: 'faq-try', class: 'faq-try', 'aria-labelledby': 'faq-try-title' },
    h('h3', { id: 'faq-try-title', class: 'view-sub' }, t('faq.try_title')),
    h('label', { for: 'faq-try-text', class: 'field-label' }, t('faq.try_label')),
    h('div', { class: 'inline-row' }, tryText, tryRun),
    tryResult);

  replace(main, h('section', { class: 'view faq-view', 'aria-labelledby': 'faq-title' },
    h('h2', { id: 'faq-title', class: 'view-title' }, t('faq.title')),
    lead, modeHint,
    admin ? null : h('p', { id: 'faq-readonly', class: 'hint' }, t('faq.readonly')),
    h('div', { class: admin ? 'faq-columns' : 'faq-single' },
      admin ? h('div', { class: 'faq-column' }, form) : null,
      h('div', { class: 'faq-column' }, tryForm)),
    h('h3', { class: 'view-sub' }, t('faq.list_title')),
    listStatus, list));

  function showMode() {
    const mode = state.me?.response?.mode;
    modeHint.hidden = !mode || FAQ_MODES.includes(mode);
    modeHint.textContent = mode ? t('faq.mode_hint', { mode: modeLabel(mode) }) : '';
  }

  function updateCount() {
    const n = Math.max(answer.value.length, answerEn.value.length);
    count.textContent = n > MAX_TEXT ? t('composer.count_over', { n, max: MAX_TEXT }) : t('composer.count', { n, max: MAX_TEXT });
    count.classList.toggle('is-over', n > MAX_TEXT);
    save.disabled = n > MAX_TEXT;
  }
  answer.addEventListener('input', updateCount);
  answerEn.addEventListener('input', updateCount);

  /** The form as an entry, or null when nothing is written in it. */
  function draft() {
    const entry = {
      id: id.value.trim(),
      questions: questions.value.split('\n').map((q) => q.trim()).filter(Boolean),
      answer: answer.value,
    };
    if (answerEn.value.trim()) entry.answer_en = answerEn.value;
    const empty = !entry.id && !entry.questions.length && !entry.answer.trim();
    return empty ? null : entry;
  }

  function edit(entry) {
    editing = entry;
    id.value = entry?.id ?? '';
    questions.value = (entry?.questions ?? []).join('\n');
    answer.value = entry?.answer ?? '';
    answerEn.value = entry?.answer_en ?? '';
    formTitle.textContent = entry ? t('faq.edit_title', { id: entry.id }) : t('faq.new_title');
    save.textContent = entry ? t('faq.update') : t('faq.create');
    cancel.hidden = !entry;
    error.hidden = true;
    updateCount();
    if (entry) id.focus();
  }
  cancel.addEventListener('click', () => edit(null));

  function showError(err) {
    if (err.status === 409 && err.code === 'conflict') {
      conflict.hidden = false;
      return;
    }
    // "`answer`: is empty" names the field: say it in staff's words and move there.
    const field = /^`([a-z_.]+)`:/.exec(err.message || '')?.[1]?.replace(/^draft\.entry\./, '');
    const input = { id, questions, answer, answer_en: answerEn }[field];
    error.textContent = input ? `${t(`faq.${field}`)}: ${err.message.replace(/^`[^`]+`:\s*/, '')}` : errorText(err);
    error.hidden = false;
    input?.focus();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const entry = draft();
    if (!entry?.id || !entry.questions.length || !entry.answer.trim()) {
      error.textContent = t('faq.required');
      error.hidden = false;
      return;
    }
    save.disabled = true;
    error.hidden = true;
    conflict.hidden = true;
    ok.textContent = '';
    try {
      if (editing) await put(`api/faq/${encodeURIComponent(editing.id)}`, { entry, version });
      else await post('api/faq', { entry, version });
      ok.textContent = editing ? t('faq.updated', { id: entry.id }) : t('faq.created', { id: entry.id });
      edit(null);
      await load();
    } catch (err) {
      showError(err);
    } finally {
      updateCount();
    }
  });
  reload.addEventListener('click', async () => {
    conflict.hidden = true;
    await load();
  });

  // ---- try it ----
  tryText.addEventListener('keydown', (e) => {
    // Enter that confirms an IME conversion is not a request to try.
    if (e.key === 'Enter' && (e.isComposing || e.keyCode === 229)) e.preventDefault();
  });
  let tried = false; // a trial is on screen: run it again when the FAQ changes
  tryForm.addEventListener('submit', (e) => {
    e.preventDefault();
    runTrial();
  });

  async function runTrial() {
    const text = tryText.value;
    if (!text.trim()) {
      replace(tryResult, h('p', { class: 'form-error', role: 'alert' }, t('faq.try_empty')));
      return;
    }
    const body = { text };
    const entry = admin ? draft() : null;
    const usable = entry?.id && entry.questions.length && entry.answer.trim();
    if (usable) body.draft = { entry, replacing: editing?.id ?? null };
    tryRun.disabled = true;
    try {
      showTrial(await post('api/faq-trial', body), Boolean(usable));
      tried = true;
    } catch (err) {
      replace(tryResult, h('p', { class: 'form-error', role: 'alert' }, errorText(err)));
    } finally {
      tryRun.disabled = false;
    }
  }

  function showTrial(r, withDraft) {
    const score = (s) => s.toFixed(2);
    const verdict = r.outcome === 'answers'
      ? t('faq.try_answers', { id: r.answered_by, score: score(r.candidates[0].score), min: score(r.min_score) })
      : t(`faq.try_${r.outcome}`, { min: score(r.min_score) });
    const candidates = h('ol', { id: 'faq-try-candidates', class: 'faq-candidates', 'aria-label': t('faq.try_candidates') },
      ...r.candidates.map((c) => h('li', { class: 'faq-candidate', 'data-faq': c.id },
        h('span', { class: 'faq-candidate-id' }, c.id),
        h('meter', { class: 'faq-meter', min: 0, max: 1, low: r.min_score, optimum: 1, value: c.score, 'aria-label': t('faq.try_score', { id: c.id }) }),
        h('span', { class: `faq-score ${c.above_min_score ? 'is-above' : ''}` }, score(c.score)))));
    replace(tryResult,
      withDraft ? h('p', { id: 'faq-try-draft', class: 'hint' }, t('faq.try_with_draft')) : null,
      h('p', { id: 'faq-try-outcome', class: `faq-outcome outcome-${r.outcome}` }, verdict),
      // The answer is text: textContent only, never HTML.
      r.answer ? h('p', { id: 'faq-try-answer', class: 'faq-answer-bubble' }, r.answer) : null,
      r.candidates.length ? candidates : null);
  }

  // ---- list ----
  async function load() {
    try {
      const r = await get('api/faq');
      version = r.version;
      minScore = r.min_score;
      items = r.items || [];
      lead.textContent = t('faq.lead', { min: minScore.toFixed(2) });
      replace(list, items.map(item));
      listStatus.textContent = items.length ? t('faq.count', { n: items.length }) : t('faq.none');
      // What was tried before the change, as it is answered now.
      if (tried && tryText.value.trim()) runTrial();
    } catch (err) {
      listStatus.textContent = errorText(err);
    }
  }

  function item(entry) {
    const parts = [
      h('div', { class: 'faq-item-main' },
        h('p', { class: 'faq-item-id' }, entry.id),
        h('ul', { class: 'faq-item-questions', 'aria-label': t('faq.questions') }, ...entry.questions.map((q) => h('li', null, q))),
        h('p', { class: 'faq-item-answer' }, entry.answer),
        entry.answer_en ? h('p', { class: 'faq-item-answer faq-item-answer-en', lang: 'en' }, entry.answer_en) : null),
    ];
    if (admin) parts.push(...adminButtons(entry));
    return h('li', { class: 'faq-item', 'data-faq': entry.id }, ...parts);
  }

  function adminButtons(entry) {
    const editButton = h('button', { type: 'button', class: 'btn btn-secondary btn-small', 'aria-label': t('faq.edit_label', { id: entry.id }) }, t('faq.edit'));
    editButton.addEventListener('click', () => edit(entry));
    const remove = twoPressButton({
      text: t('faq.delete'),
      label: t('faq.delete_label', { id: entry.id }),
      confirmText: t('faq.delete_confirm'),
      confirmLabel: t('faq.delete_confirm_label', { id: entry.id }),
      action: async () => {
        await api('DELETE', `api/faq/${encodeURIComponent(entry.id)}`, { query: { version } });
        ok.textContent = t('faq.deleted', { id: entry.id });
        if (editing?.id === entry.id) edit(null);
        await load();
      },
      onError: showError,
    });
    return [editButton, remove];
  }

  showMode();
  updateCount();
  load();
  return { destroy() {} };
}
