// Shared wording for conversations and modes (names, source types, reply limits).

import { t } from './i18n.js';

/** "U4af49…06d2": a readable stand-in for a user without a name. */
export function shortId(id) {
  const raw = String(id).split(':').pop();
  return raw.length > 12 ? `${raw.slice(0, 6)}…${raw.slice(-4)}` : raw;
}

export function conversationName(c) {
  return c?.staff_name || c?.display_name || shortId(c?.id ?? '');
}

export function initials(name) {
  const trimmed = String(name).trim();
  return trimmed ? Array.from(trimmed)[0].toUpperCase() : '?';
}

export function sourceLabel(type) {
  return t(`source.${type}`) ;
}

export function modeLabel(mode) {
  return mode ? t(`mode.${mode}`) : t('mode.unknown');
}

/** The account's mode in force now, as one phrase: "チャット（応答時間内）". */
/** Why the mode is in force, translated from the API's `basis` (its `reason` is English). */
export function modeReason(m) {
  if (!m) return null;
  return m.basis ? t(`mode.basis.${m.basis}`) : m.reason || null;
}

export function modePhrase(m) {
  if (!m?.mode) return t('mode.unknown');
  const hours = m.open === true ? t('mode.open') : m.open === false ? t('mode.closed') : null;
  return hours ? `${modeLabel(m.mode)}・${hours}` : modeLabel(m.mode);
}

/**
 * Why a reply is not possible now, or null. Until the API sends can_reply, it is derived from
 * the fields the older API had.
 */
export function replyBlock(c) {
  if (!c) return null;
  if (c.can_reply === true) return null;
  if (c.can_reply === false) return c.reply_blocked || 'unknown';
  if (c.blocked) return 'blocked';
  if (c.source_type === 'user' && c.has_written === false) return 'never_wrote';
  return null;
}
