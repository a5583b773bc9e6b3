// Strings (Japanese first, English) and every date/time format, in the account's timezone.

import ja from './locales/ja.js';
import en from './locales/en.js';

const TABLES = { ja, en };
const LANG_KEY = 'loa.lang';

let lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'ja';
let timeZone = 'Asia/Tokyo';
const formatters = new Map();

export function t(key, params = {}) {
  const text = TABLES[lang][key] ?? TABLES.ja[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** t() for a key that may not exist: null instead of the key itself. */
export function tMaybe(key, params) {
  return key in TABLES[lang] || key in TABLES.ja ? t(key, params) : null;
}

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = next === 'en' ? 'en' : 'ja';
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  formatters.clear();
}

export function setTimeZone(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    timeZone = tz;
  } catch {
    timeZone = 'Asia/Tokyo';
  }
  formatters.clear();
}

export function getTimeZone() {
  return timeZone;
}

function fmt(name, options, locale = lang) {
  const key = `${locale}|${name}`;
  if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat(locale, { timeZone, ...options }));
  return formatters.get(key);
}

export function formatTime(ms) {
  return fmt('time', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

export function formatDateTime(ms) {
  return fmt('datetime', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

export function formatDay(ms) {
  return fmt('day', { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }).format(ms);
}

export function formatShortDate(ms) {
  return fmt('short', { month: 'numeric', day: 'numeric' }).format(ms);
}

/** "2026-11-25" for ms in the account's timezone: the key of a day separator, a date input value. */
export function dayKey(ms) {
  return fmt('key', { year: 'numeric', month: '2-digit', day: '2-digit' }, 'en-CA').format(ms);
}

/** "3分前" / "3 min ago"; older than a day: the date. */
export function relativeTime(ms, now = Date.now()) {
  const minutes = Math.floor((now - ms) / 60_000);
  if (minutes < 1) return t('time.just_now');
  if (minutes < 60) return t('time.minutes_ago', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t('time.hours_ago', { n: hours });
  if (dayKey(ms).slice(0, 4) === dayKey(now).slice(0, 4)) return formatShortDate(ms);
  return fmt('ymd', { year: 'numeric', month: 'numeric', day: 'numeric' }).format(ms);
}

// The timezone's offset from UTC at `ms`, in ms (Intl has no direct API for it).
function offsetAt(ms) {
  const parts = {};
  for (const p of fmt('parts', { hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }, 'en-US').formatToParts(ms)) {
    parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour % 24, parts.minute, parts.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant a "YYYY-MM-DD" day starts in the account's timezone. */
export function startOfDay(dateStr) {
  const [y, m, d] = dateStr.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  let ms = guess - offsetAt(guess);
  const second = offsetAt(ms);
  if (guess - second !== ms) ms = guess - second;  // a DST change between the guess and the answer
  return ms;
}

/** The day after a "YYYY-MM-DD" (for an exclusive end). */
export function nextDay(dateStr) {
  const [y, m, d] = dateStr.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** RFC 3339 with the account timezone's offset, e.g. 2026-11-25T00:00:00+09:00. */
export function rfc3339(ms) {
  const off = offsetAt(ms);
  const local = new Date(Math.floor(ms / 1000) * 1000 + off).toISOString().slice(0, 19);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off) / 60_000;
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}
