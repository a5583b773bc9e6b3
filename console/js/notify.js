// Optional desktop notifications for newly unread conversations. They name the conversation
// (or say 「新しいメッセージ」), never the message text: a screen may be seen by anyone.

import { h } from './dom.js';
import { t } from './i18n.js';
import { conversationName } from './format.js';

const PREF_KEY = 'loa.notify';
// Activity already seen per conversation; anything older than the page load counts as seen.
const seen = new Map();
let baseline = Date.now();

function supported() {
  return 'Notification' in window;
}

function enabled() {
  return supported() && Notification.permission === 'granted' && localStorage.getItem(PREF_KEY) === '1';
}

/** The header's opt-in button (a toggle); null where the browser has no notifications. */
export function notifyButton() {
  if (!supported()) return null;
  const b = h('button', { type: 'button', id: 'notify-optin', class: 'btn btn-ghost btn-small notify-btn' });
  const draw = () => {
    const denied = Notification.permission === 'denied';
    b.textContent = t('notify.toggle');
    b.setAttribute('aria-pressed', String(enabled()));
    b.title = enabled() ? t('notify.on') : t('notify.off');
    b.disabled = denied;
    if (denied) b.title = t('notify.denied');
  };
  b.addEventListener('click', async () => {
    if (enabled()) {
      localStorage.setItem(PREF_KEY, '0');
    } else {
      const answer = await Notification.requestPermission();
      localStorage.setItem(PREF_KEY, answer === 'granted' ? '1' : '0');
    }
    draw();
  });
  draw();
  return b;
}

/** Starts counting from now: the backlog at sign-in does not notify. */
export function primeNotifications() {
  baseline = Date.now();
  seen.clear();
}

/** After a list reload: notify for conversations with activity newer than last seen. */
export function notifyNew(conversations, openId) {
  for (const c of conversations) {
    if (!c.unread) continue;
    const before = seen.get(c.id) ?? baseline;
    seen.set(c.id, Math.max(before, c.last_activity_ms));
    if (c.last_activity_ms <= before) continue;
    if (c.id === openId && !document.hidden) continue;
    if (!enabled()) continue;
    const name = c.staff_name || c.display_name ? conversationName(c) : null;
    const n = new Notification(name ? t('notify.title_named', { name }) : t('notify.title'), { body: t('notify.body'), tag: c.id });
    n.onclick = () => {
      window.focus();
      location.hash = `#/c/${encodeURIComponent(c.id)}`;
      n.close();
    };
  }
}
