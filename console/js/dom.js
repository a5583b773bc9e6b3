// DOM helpers. Content only ever becomes text nodes: message text and names are untrusted.

const BOOLEAN_PROPS = new Set(['hidden', 'disabled', 'checked', 'selected', 'required', 'readOnly', 'multiple']);
const VALUE_PROPS = new Set(['value', 'tabIndex']);
// Links we build point inside the app, at a blob we made, or at an http(s) URL the API gave us.
const SAFE_URL = /^(#|\/|blob:|https?:)/i;

/**
 * h('button', {class: 'x', onclick: fn, 'aria-label': '…'}, 'text', child, [more])
 * Strings and numbers become text nodes; null/false/undefined are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false && !BOOLEAN_PROPS.has(key)) continue;
    if (key.startsWith('on')) {
      if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (BOOLEAN_PROPS.has(key)) {
      el[key] = Boolean(value);
    } else if (VALUE_PROPS.has(key)) {
      el[key] = value;
    } else if (key === 'style' || key === 'innerHTML' || key === 'outerHTML') {
      throw new Error(`h(): ${key} is not allowed`);
    } else if ((key === 'href' || key === 'src') && !SAFE_URL.test(String(value))) {
      continue;
    } else {
      el.setAttribute(key, String(value === true ? '' : value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (text, nodes, arrays of them) to el. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces el's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function $(id) {
  return document.getElementById(id);
}

export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** True when a key press belongs to a field being typed into (shortcuts stay out of its way). */
export function isTypingTarget(el) {
  if (!el) return false;
  const tag = el.tagName;
  return tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable ||
    (tag === 'INPUT' && !['button', 'submit', 'checkbox', 'radio', 'reset'].includes(el.type));
}

let idCounter = 0;
/** A unique id for label/aria wiring inside a view. */
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Saves a blob as a file (exports, media downloads). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename || 'download', class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
