// Live updates by polling: GET /api/inbox (cheap) decides whether the list's first page is read
// again. (The open conversation polls its own tail: views/conversation.js.)

import { get } from './api.js';
import { on } from './state.js';
import { notifyNew, primeNotifications } from './notify.js';

const INBOX_MS = 10_000;
const INBOX_HIDDEN_MS = 60_000;
const ME_EVERY = 6;  // re-read /api/me (the account's mode in force) every sixth inbox poll

export function startLive({ list, conversation, onMe }) {
  let last = null;
  let timer = 0;
  let stopped = false;
  let ticks = 0;
  let noInboxRoute = false;

  async function tick() {
    if (stopped) return;
    ticks += 1;
    try {
      if (noInboxRoute) {
        // An API without /api/inbox: read the first page each time (counts from it alone).
        const items = await list()?.reloadFirstPage() ?? [];
        list()?.setCounts({ unread: items.filter((c) => c.unread).length, needs_attention: items.filter((c) => c.needs_attention).length });
        notifyNew(items, conversation()?.id);
      } else {
        const inbox = await get('api/inbox');
        const key = JSON.stringify(inbox);
        list()?.setCounts(inbox);
        if (last !== null && key !== last) {
          notifyNew(await list()?.reloadFirstPage() ?? [], conversation()?.id);
          conversation()?.refresh();
        }
        last = key;
      }
      if (ticks % ME_EVERY === 0) onMe(await get('api/me'));
    } catch (err) {
      if (err.status === 404 && !noInboxRoute) {
        noInboxRoute = true;
        clearTimeout(timer);
        tick();
        return;
      }
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(tick, document.hidden ? INBOX_HIDDEN_MS : INBOX_MS);
  }

  function onVisibility() {
    if (!document.hidden) tick();
  }

  document.addEventListener('visibilitychange', onVisibility);
  // Staff changed a conversation here (read it, resolved it): the counts follow at once, not at
  // the next poll. Coalesced, so a burst of changes is one small read.
  let soon = 0;
  const offChange = on('conversation', () => {
    clearTimeout(soon);
    soon = setTimeout(async () => {
      try {
        const inbox = await get('api/inbox');
        list()?.setCounts(inbox);
      } catch { /* the next poll */ }
    }, 300);
  });
  primeNotifications();
  // The first answer sets the baseline (and the counts) without reloading.
  tick();

  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(soon);
    offChange();
    document.removeEventListener('visibilitychange', onVisibility);
  };
}
