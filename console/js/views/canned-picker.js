// The `/` picker: canned replies searched by name or text, chosen with the arrow keys and Enter.

import { h, replace, debounce } from '../dom.js';
import { t } from '../i18n.js';
import { get, errorText } from '../api.js';

/** `onChoose(reply)` inserts it; the textarea keeps focus throughout (aria-activedescendant). */
export function createCannedPicker(textarea, onChoose) {
  const list = h('ul', { id: 'canned-picker', class: 'canned-picker', role: 'listbox', 'aria-label': t('canned.picker_label'), hidden: true });
  let items = [];
  let active = -1;
  let seq = 0;
  textarea.setAttribute('aria-controls', 'canned-picker');

  const search = debounce(async (q) => {
    const mine = ++seq;
    try {
      const page = await get('api/canned-replies', { q: q || undefined });
      if (mine !== seq || list.hidden) return;
      items = page.items || [];
      active = items.length ? 0 : -1;
      render();
    } catch (err) {
      if (mine === seq) replace(list, h('li', { role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false', class: 'canned-empty' }, errorText(err)));
    }
  }, 150);

  function render() {
    if (!items.length) {
      replace(list, h('li', { role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false', class: 'canned-empty' }, t('canned.none_found')));
      textarea.removeAttribute('aria-activedescendant');
      return;
    }
    replace(list, items.map((reply, i) => {
      const li = h('li', { role: 'option', id: `canned-option-${i}`, class: 'canned-option', 'aria-selected': String(i === active), 'data-canned': reply.id },
        h('span', { class: 'canned-option-name' }, reply.name),
        h('span', { class: 'canned-option-text' }, reply.text));
      // mousedown, not click: the textarea must not lose focus first.
      li.addEventListener('mousedown', (event) => { event.preventDefault(); choose(i); });
      return li;
    }));
    if (active >= 0) {
      textarea.setAttribute('aria-activedescendant', `canned-option-${active}`);
      list.children[active]?.scrollIntoView({ block: 'nearest' });
    }
  }

  function open(query) {
    list.hidden = false;
    search(query);
  }

  function close() {
    if (list.hidden) return;
    list.hidden = true;
    items = [];
    active = -1;
    seq += 1;
    textarea.removeAttribute('aria-activedescendant');
    list.replaceChildren();
  }

  function choose(i) {
    const reply = items[i];
    close();
    if (reply) onChoose(reply);
  }

  /** Keys while open; true when the key was the picker's. */
  function handleKey(event) {
    if (list.hidden) return false;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!items.length) return true;
      active = (active + (event.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      render();
      return true;
    }
    if (event.key === 'Enter') {
      if (active < 0) return false;
      event.preventDefault();
      choose(active);
      return true;
    }
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close();
      return true;
    }
    return false;
  }

  return { element: list, open, close, handleKey, isOpen: () => !list.hidden };
}
