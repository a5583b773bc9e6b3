// One conversation: header (name, source, mode in force and why), the message log (newest at
// the bottom, older pages on scroll-up, new ones appended by polling) and the composer.

import { h, replace } from '../dom.js';
import { t, dayKey, formatDay, formatDateTime } from '../i18n.js';
import { get, post, convPath, errorText } from '../api.js';
import { state, on, conversationChanged } from '../state.js';
import { conversationName, modePhrase, modeReason, shortId } from '../format.js';
import { renderMessage, fillMessage, revokeMedia } from './message.js';
import { createComposer } from './composer.js';

const PAGE = 50;
const POLL_MS = 5_000;
const POLL_HIDDEN_MS = 30_000;
const NEAR_BOTTOM_PX = 120;
const MAX_PAGES_TO_FIND = 40;  // how far back a search hit is looked for

/**
 * Opens conversation `id` in `main`. `target` (from a search hit): {ts, text, id} of a message
 * to scroll to and highlight. Returns {id, destroy, composer, refresh}.
 */
export function openConversation(main, id, { target } = {}) {
  let destroyed = false;
  let older = null;           // cursor for the page before the oldest shown (`before=`)
  let newestCursor = null;    // cursor of the newest item shown (`after=` polls the tail)
  let legacy = false;         // the API has no order=newest yet: read oldest-first
  let loadingOlder = false;
  let timer = 0;
  const byId = new Map();     // key(m) -> {li, m}
  // An automatic reply carries the id of the event it answers: direction + id is unique.
  const key = (m) => `${m.direction}:${m.id}`;

  const head = h('div', { class: 'conv-header' }, h('h2', { class: 'conv-title', id: 'conversation-title' }, shortId(id)));
  const olderButton = h('button', { type: 'button', id: 'messages-older', class: 'btn btn-secondary btn-small older-btn', hidden: true }, t('conv.older'));
  // tabindex: a scrollable log must be scrollable from the keyboard too.
  const log = h('ol', { id: 'messages', class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-labelledby': 'conversation-title', 'aria-busy': 'true', tabindex: 0 });
  const status = h('p', { class: 'conv-status', role: 'status' }, t('conv.loading'));
  const jump = h('button', { type: 'button', id: 'messages-jump', class: 'btn btn-primary btn-small jump-btn', hidden: true }, t('conv.jump_new'));
  const composerBox = h('div', { class: 'composer-wrap' });
  replace(main, h('section', { class: 'conversation', 'aria-labelledby': 'conversation-title' },
    head, h('div', { class: 'messages-wrap' }, olderButton, log, jump), status, composerBox));

  const composer = createComposer(composerBox, { onSent: (record) => { if (record) upsert([record], { fromSend: true }); } });

  olderButton.addEventListener('click', () => loadOlder());
  jump.addEventListener('click', () => { scrollToBottom(); jump.hidden = true; });
  log.addEventListener('scroll', () => {
    if (log.scrollTop < 80 && older && !loadingOlder) loadOlder();
    if (nearBottom()) jump.hidden = true;
  });

  const offs = [on('conversation', (c) => { if (c.id === id) renderHeader(c); })];

  function renderHeader(c) {
    composer.setConversation(c);
    const mode = c.mode;
    replace(head,
      h('div', { class: 'conv-title-row' },
        h('h2', { class: 'conv-title', id: 'conversation-title' }, conversationName(c)),
        h('span', { class: 'badge badge-source' }, t(`source.${c.source_type}`)),
        c.needs_attention && h('span', { class: 'badge badge-attention' }, t('status.needs_attention')),
        c.resolved && h('span', { class: 'badge badge-resolved' }, t('status.resolved')),
        c.spam && h('span', { class: 'badge badge-spam' }, t('status.spam'))),
      h('p', { class: 'conv-mode', id: 'conversation-mode' },
        h('span', { class: 'conv-mode-label' }, t('conv.mode')), ' ',
        h('strong', null, mode ? modePhrase(mode) : c.pin ? t(`mode.${c.pin.mode}`) : t('mode.unknown')),
        mode?.pinned || c.pin ? h('span', { class: 'badge badge-pin' }, t('conv.pinned')) : null,
        modeReason(mode) ? h('span', { class: 'conv-mode-reason' }, modeReason(mode)) : null),
      c.pin ? h('p', { class: 'conv-pin' }, c.pin.until_ms
        ? t('conv.pin_until', { mode: t(`mode.${c.pin.mode}`), until: formatDateTime(c.pin.until_ms), by: c.pin.by })
        : t('conv.pin_always', { mode: t(`mode.${c.pin.mode}`), by: c.pin.by })) : null);
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function separator(ms) {
    return h('li', { role: 'none', class: 'day-sep', 'data-day': dayKey(ms) }, h('span', { class: 'day-sep-text' }, formatDay(ms)));
  }

  /** Items oldest-first as list items, with a day separator where the day changes. */
  function build(items, prevDay) {
    const frag = document.createDocumentFragment();
    let day = prevDay;
    for (const m of items) {
      const d = dayKey(m.timestamp_ms);
      if (d !== day) frag.append(separator(m.timestamp_ms));
      day = d;
      const li = renderMessage(m, id);
      byId.set(key(m), { li, m });
      frag.append(li);
    }
    return frag;
  }

  function lastDay() {
    const items = log.querySelectorAll('li.msg');
    return items.length ? dayKey(Number(items[items.length - 1].dataset.ts)) : null;
  }

  /** Adds or updates messages (oldest-first) at the end of the log. */
  function upsert(items, { fromSend = false } = {}) {
    const stick = fromSend || nearBottom();
    const fresh = [];
    for (const m of items) {
      if (m.cursor && !fromSend) newestCursor = m.cursor;
      const known = byId.get(key(m));
      if (known) {
        known.m = m;
        fillMessage(known.li, m, id);
      } else {
        fresh.push(m);
      }
    }
    if (!fresh.length) return;
    log.append(build(fresh, lastDay()));
    if (stick) scrollToBottom();
    else jump.hidden = false;
    if (!fromSend && fresh.some((m) => m.direction === 'in')) {
      composer.noteInbound();
      if (!document.hidden) markRead();
    }
  }

  async function markRead() {
    try {
      conversationChanged(await post(convPath(id, '/read')));
    } catch { /* the next open marks it */ }
  }

  async function loadNewest() {
    try {
      const page = await get(convPath(id, '/messages'), { order: 'newest', limit: PAGE });
      const items = (page.items || []).slice().reverse();
      older = page.next ?? null;
      log.replaceChildren(build(items, null));
      newestCursor = items.length ? items[items.length - 1].cursor ?? null : null;
      if (items.length && !items[0].cursor) legacy = true;
    } catch (err) {
      if (err.status !== 400) throw err;
      legacy = true;  // an API without order=newest: read it all, oldest first
      await loadAllLegacy();
    }
  }

  async function readAllLegacy() {
    let after;
    const all = [];
    for (let i = 0; i < 20; i += 1) {
      const page = await get(convPath(id, '/messages'), { limit: 100, after });
      all.push(...(page.items || []));
      if (!page.next) break;
      after = page.next;
    }
    return all;
  }

  async function loadAllLegacy() {
    const all = await readAllLegacy();
    byId.clear();
    log.replaceChildren(build(all, null));
    older = null;
  }

  async function loadOlder() {
    if (!older || loadingOlder) return false;
    loadingOlder = true;
    olderButton.disabled = true;
    try {
      const page = await get(convPath(id, '/messages'), { order: 'newest', limit: PAGE, before: older });
      if (destroyed) return false;
      const items = (page.items || []).slice().reverse().filter((m) => !byId.has(key(m)));
      older = page.next ?? null;
      const fromBottom = log.scrollHeight - log.scrollTop;
      const frag = build(items, null);
      // The day of the page's last item may already head the log: one separator per day.
      const first = log.firstElementChild;
      if (first?.classList.contains('day-sep') && items.length && first.dataset.day === dayKey(items[items.length - 1].timestamp_ms)) first.remove();
      log.prepend(frag);
      log.scrollTop = log.scrollHeight - fromBottom;  // keep what staff were reading in place
      return items.length > 0;
    } catch (err) {
      status.textContent = errorText(err);
      return false;
    } finally {
      loadingOlder = false;
      olderButton.disabled = false;
      olderButton.hidden = !older;
    }
  }

  async function poll() {
    if (destroyed) return;
    try {
      if (legacy) {
        const all = await readAllLegacy();
        if (!destroyed) upsert(all);
      } else {
        const page = await get(convPath(id, '/messages'), { after: newestCursor ?? undefined, limit: PAGE });
        if (!destroyed) upsert(page.items || []);
        await refreshSending();
      }
    } catch { /* a missed poll is retried on the next tick */ }
    schedule();
  }

  /** Replies shown as "sending" are read again until they are settled. */
  async function refreshSending() {
    if (![...byId.values()].some(({ m }) => m.status === 'sending')) return;
    const page = await get(convPath(id, '/messages'), { order: 'newest', limit: PAGE });
    for (const m of page.items || []) {
      const known = byId.get(key(m));
      if (known && known.m.status !== m.status) {
        known.m = m;
        fillMessage(known.li, m, id);
      }
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (!destroyed) timer = setTimeout(poll, document.hidden ? POLL_HIDDEN_MS : POLL_MS);
  }

  function onVisible() {
    if (!document.hidden) poll();
  }
  document.addEventListener('visibilitychange', onVisible);

  /** Scrolls to a search hit, reading older pages until it is there. */
  async function findTarget() {
    const matches = (m) => (target.id && m.id === target.id) ||
      (target.ts && Number(m.timestamp_ms) === Number(target.ts) && (!target.text || (m.text || '').includes(target.text.slice(0, 20))));
    for (let i = 0; i < MAX_PAGES_TO_FIND; i += 1) {
      const hit = [...byId.values()].find(({ m }) => matches(m));
      if (hit) {
        hit.li.classList.add('is-highlighted');
        hit.li.setAttribute('tabindex', '-1');
        hit.li.scrollIntoView({ block: 'center' });
        hit.li.focus({ preventScroll: true });
        return;
      }
      if (!older || !(await loadOlder()) && !older) break;
    }
    status.textContent = t('conv.target_missing');
  }

  (async () => {
    try {
      const c = await get(convPath(id));
      if (destroyed) return;
      state.conversation = c;
      conversationChanged(c);
      markRead();
      await loadNewest();
      if (destroyed) return;
      status.textContent = '';
      log.setAttribute('aria-busy', 'false');
      olderButton.hidden = !older;
      scrollToBottom();
      if (target) await findTarget();
      schedule();
    } catch (err) {
      if (destroyed) return;
      log.setAttribute('aria-busy', 'false');
      status.textContent = err.status === 404 ? t('conv.not_found') : errorText(err);
    }
  })();

  return {
    id,
    composer,
    /** Re-reads the conversation (e.g. the inbox changed: someone else resolved it). */
    async refresh() {
      try {
        conversationChanged(await get(convPath(id)));
      } catch { /* shown on the next action */ }
    },
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
      offs.forEach((off) => off());
      revokeMedia();
      if (state.conversation?.id === id) state.conversation = null;
    },
  };
}
