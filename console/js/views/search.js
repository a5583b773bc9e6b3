// Search (#/search): text, a date range in the account's timezone (default the last 30 days),
// optionally one conversation; each hit opens its conversation at that message.

import { h, replace } from '../dom.js';
import { t, dayKey, startOfDay, nextDay, rfc3339, formatDateTime } from '../i18n.js';
import { get, convPath, errorText } from '../api.js';
import { state } from '../state.js';
import { conversationName, shortId } from '../format.js';

const DAY_MS = 86_400_000;
const PAGE = 30;
// The last search, so going back from a hit shows the same results.
let last = null;

export function openSearch(main) {
  const now = Date.now();
  const scopeId = state.lastConversationId ?? null;
  const q = h('input', { id: 'search-q', type: 'search', class: 'input', required: true, maxlength: 200, value: last?.q ?? '' });
  const from = h('input', { id: 'search-from', type: 'date', class: 'input', value: last?.from ?? dayKey(now - 30 * DAY_MS) });
  const to = h('input', { id: 'search-to', type: 'date', class: 'input', value: last?.to ?? dayKey(now) });
  const only = h('input', { id: 'search-this', type: 'checkbox', checked: Boolean(last?.only && scopeId), disabled: !scopeId });
  const submit = h('button', { id: 'search-submit', type: 'submit', class: 'btn btn-primary' }, t('search.submit'));
  const error = h('p', { id: 'search-error', class: 'form-error', role: 'alert', hidden: true });
  const summary = h('p', { id: 'search-summary', class: 'hint', role: 'status' });
  const results = h('ul', { id: 'search-results', class: 'results' });
  const more = h('button', { id: 'search-more', type: 'button', class: 'btn btn-secondary', hidden: true }, t('search.more'));
  let next = null;
  let params = null;
  let count = 0;

  const form = h('form', { class: 'search-form', role: 'search', 'aria-label': t('search.title') },
    h('div', { class: 'form-grid' },
      h('div', null, h('label', { for: 'search-q', class: 'field-label' }, t('search.q')), q),
      h('div', null, h('label', { for: 'search-from', class: 'field-label' }, t('search.from')), from),
      h('div', null, h('label', { for: 'search-to', class: 'field-label' }, t('search.to')), to)),
    h('div', { class: 'actions' },
      h('label', { class: 'check', for: 'search-this' }, only, scopeId ? t('search.this_only', { name: conversationName(state.known.get(scopeId) ?? { id: scopeId }) }) : t('search.this_only_none')),
      h('span', { class: 'composer-spacer' }), submit),
    error);

  replace(main, h('section', { class: 'view', 'aria-labelledby': 'search-title' },
    h('h2', { id: 'search-title', class: 'view-title' }, t('search.title')), form, summary, results, h('div', { class: 'actions' }, more)));
  q.focus();

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!q.value.trim()) {
      error.textContent = t('search.empty');
      error.hidden = false;
      q.focus();
      return;
    }
    params = {
      q: q.value.trim(),
      from: from.value ? rfc3339(startOfDay(from.value)) : undefined,
      to: to.value ? rfc3339(startOfDay(nextDay(to.value))) : undefined,
      conversation: only.checked ? scopeId : undefined,
      limit: PAGE,
    };
    last = { q: q.value, from: from.value, to: to.value, only: only.checked, conversation: scopeId };
    results.replaceChildren();
    count = 0;
    run();
  });
  more.addEventListener('click', () => run(next));

  async function run(after) {
    submit.disabled = true;
    more.disabled = true;
    error.hidden = true;
    summary.textContent = t('search.searching');
    try {
      const page = await get('api/search', { ...params, after });
      const hits = page.hits ?? page.items ?? [];
      next = page.next ?? null;
      await names(hits);
      results.append(...hits.map(hit));
      count += hits.length;
      summary.textContent = count ? t('search.count', { n: count }) : t('search.none');
      more.hidden = !next;
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
      summary.textContent = '';
    } finally {
      submit.disabled = false;
      more.disabled = false;
    }
  }

  // Hits carry only the conversation id: read the names not seen yet (once each).
  async function names(hits) {
    const missing = [...new Set(hits.map((x) => x.conversation))].filter((id) => !state.known.has(id));
    await Promise.all(missing.map(async (id) => {
      try {
        state.known.set(id, await get(convPath(id)));
      } catch { /* shown by its id */ }
    }));
  }

  function hit(x) {
    const c = state.known.get(x.conversation);
    const query = new URLSearchParams({ at: String(x.timestamp_ms) });
    if (x.id || x.message_id) query.set('msg', x.id ?? x.message_id);
    query.set('q', (x.text || '').slice(0, 40));
    return h('li', { class: 'result' },
      h('a', { class: 'result-link', href: `#/c/${encodeURIComponent(x.conversation)}?${query}` },
        h('span', { class: 'result-head' },
          h('span', { class: 'result-name' }, c ? conversationName(c) : shortId(x.conversation)),
          h('time', { datetime: new Date(x.timestamp_ms).toISOString() }, formatDateTime(x.timestamp_ms)),
          h('span', null, x.direction === 'out' ? t('search.out') : t('search.in'))),
        h('span', { class: 'result-text' }, x.text)));
  }

  return { destroy() {} };
}
