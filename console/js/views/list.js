// The conversation list: filters, rows (newest activity first, 50 a page), counts.

import { h, replace, debounce } from '../dom.js';
import { t, relativeTime } from '../i18n.js';
import { get, errorText } from '../api.js';
import { state, on } from '../state.js';
import { conversationName, initials, shortId } from '../format.js';

const PAGE = 50;
const STATUSES = ['all', 'unread', 'needs_attention', 'resolved', 'spam'];

export function createList(nav) {
  const filter = { status: 'all', tag: '', source: '', q: '' };
  let items = [];
  let next = null;
  let seq = 0;
  let selectedId = null;

  const counts = new Map();
  const statusButtons = STATUSES.map((s) => {
    const count = h('span', { class: 'filter-count' });
    counts.set(s, count);
    const b = h('button', { type: 'button', id: `filter-${s}`, class: 'filter-btn', 'aria-pressed': String(s === 'all') },
      h('span', null, t(`filter.${s}`)), count);
    b.addEventListener('click', () => {
      filter.status = s;
      for (const other of nav.querySelectorAll('.filter-btn')) other.setAttribute('aria-pressed', String(other === b));
      reload();
    });
    return b;
  });

  const tagSelect = h('select', { id: 'filter-tag', class: 'select select-small' });
  tagSelect.addEventListener('change', () => { filter.tag = tagSelect.value; reload(); });
  const sourceSelect = h('select', { id: 'filter-source', class: 'select select-small' },
    ['', 'user', 'group', 'room'].map((s) => h('option', { value: s }, s ? t(`source.${s}`) : t('filter.source_all'))));
  sourceSelect.addEventListener('change', () => { filter.source = sourceSelect.value; reload(); });
  const text = h('input', { id: 'filter-text', type: 'search', class: 'input input-small', placeholder: t('filter.text_placeholder'), autocomplete: 'off' });
  text.addEventListener('input', debounce(() => {
    if (filter.q === text.value.trim()) return;
    filter.q = text.value.trim();
    reload();
  }, 300));

  const list = h('ul', { id: 'conversation-list', class: 'conv-list' });
  const status = h('p', { class: 'list-status', role: 'status' });
  const more = h('button', { type: 'button', id: 'list-more', class: 'btn btn-secondary btn-wide', hidden: true }, t('list.more'));
  more.addEventListener('click', () => load(true));

  replace(nav,
    h('h2', { class: 'pane-title visually-hidden' }, t('list.title')),
    h('div', { class: 'filters', role: 'group', 'aria-label': t('filter.status_group') }, statusButtons),
    h('div', { class: 'filter-row' },
      h('label', { for: 'filter-text', class: 'visually-hidden' }, t('filter.text')), text),
    h('div', { class: 'filter-row filter-row-2' },
      h('span', { class: 'filter-field' }, h('label', { for: 'filter-tag', class: 'filter-label' }, t('filter.tag')), tagSelect),
      h('span', { class: 'filter-field' }, h('label', { for: 'filter-source', class: 'filter-label' }, t('filter.source')), sourceSelect)),
    h('div', { class: 'conv-scroll' }, list, status, more));

  function renderTags() {
    const keep = filter.tag;
    replace(tagSelect, h('option', { value: '' }, t('filter.tag_all')),
      state.tags.map((tag) => h('option', { value: tag.id, selected: tag.id === keep }, tag.name)));
  }
  renderTags();

  function query(after) {
    return {
      status: filter.status === 'all' ? undefined : filter.status,
      tag: filter.tag || undefined,
      source: filter.source || undefined,
      q: filter.q || undefined,
      limit: PAGE,
      after,
    };
  }

  async function load(append) {
    const mine = ++seq;
    more.disabled = true;
    if (!append && !items.length) status.textContent = t('list.loading');
    try {
      const page = await get('api/conversations', query(append ? next : undefined));
      if (mine !== seq) return;
      const fresh = page.items || [];
      for (const c of fresh) state.known.set(c.id, c);
      items = append ? items.concat(fresh.filter((c) => !items.some((o) => o.id === c.id))) : fresh;
      next = page.next ?? null;
      render();
    } catch (err) {
      if (mine === seq) status.textContent = errorText(err);
    } finally {
      if (mine === seq) more.disabled = false;
    }
  }

  /** The first page again (live updates): rows loaded beyond it stay. */
  async function reloadFirstPage() {
    const mine = ++seq;
    try {
      const page = await get('api/conversations', query());
      if (mine !== seq) return [];
      const fresh = page.items || [];
      for (const c of fresh) state.known.set(c.id, c);
      const extra = items.length > PAGE ? items.slice(PAGE).filter((c) => !fresh.some((f) => f.id === c.id)) : [];
      items = fresh.concat(extra);
      if (!extra.length) next = page.next ?? null;
      render();
      return fresh;
    } catch {
      return [];
    }
  }

  function reload() {
    items = [];
    next = null;
    list.replaceChildren();
    return load(false);
  }

  function render() {
    replace(list, items.map(row));
    state.listIds = items.map((c) => c.id);
    status.textContent = items.length ? '' : t('list.empty');
    more.hidden = !next;
  }

  function row(c) {
    const name = conversationName(c);
    const link = h('a', {
      href: `#/c/${encodeURIComponent(c.id)}`,
      class: ['conv-row', c.unread && 'is-unread'],
      'data-conversation': c.id,
      'aria-current': c.id === selectedId ? 'true' : undefined,
    },
    avatar(c, name),
    h('span', { class: 'conv-main' },
      h('span', { class: 'conv-top' },
        h('span', { class: 'conv-name' }, name),
        c.last_activity_ms ? h('time', { class: 'conv-time', datetime: new Date(c.last_activity_ms).toISOString(), 'data-ms': c.last_activity_ms }, relativeTime(c.last_activity_ms)) : null),
      h('span', { class: 'conv-preview' }, c.last_text || t('list.no_text')),
      badges(c)));
    return h('li', { class: 'conv-item' }, link);
  }

  function avatar(c, name) {
    if (c.picture_url) return h('img', { class: 'avatar', src: c.picture_url, alt: '', width: 40, height: 40, loading: 'lazy', referrerpolicy: 'no-referrer' });
    return h('span', { class: `avatar avatar-initials avatar-${c.source_type || 'user'}`, 'aria-hidden': 'true' }, initials(c.staff_name || c.display_name || shortId(c.id)));
  }

  function badges(c) {
    const parts = [];
    if (c.unread) parts.push(h('span', { class: 'unread-mark' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'unread-text' }, t('list.unread'))));
    if (c.needs_attention) {
      parts.push(h('span', { class: 'badge badge-attention' }, t('status.needs_attention'),
        c.attention_reason ? h('span', { class: 'badge-reason' }, `: ${c.attention_reason}`) : null));
    }
    if (c.resolved) parts.push(h('span', { class: 'badge badge-resolved' }, t('status.resolved')));
    if (c.spam) parts.push(h('span', { class: 'badge badge-spam' }, t('status.spam')));
    if (c.source_type && c.source_type !== 'user') parts.push(h('span', { class: 'badge badge-source' }, t(`source.${c.source_type}`)));
    return parts.length ? h('span', { class: 'conv-badges' }, parts) : null;
  }

  function markSelected(id) {
    selectedId = id;
    for (const a of list.querySelectorAll('.conv-row')) {
      if (a.getAttribute('data-conversation') === id) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    }
  }

  /** Counts from GET /api/inbox, beside the filters and in the tab title. */
  function setCounts(inbox) {
    for (const s of ['unread', 'needs_attention']) {
      const n = inbox?.[s];
      counts.get(s).textContent = n ? String(n) : '';
    }
    const unread = inbox?.unread || 0;
    document.title = unread ? `(${unread}) line-oa` : 'line-oa';
  }

  const offs = [
    on('conversation', (c) => {
      const i = items.findIndex((o) => o.id === c.id);
      if (i < 0) return;
      items[i] = c;
      const old = list.querySelector(`.conv-row[data-conversation="${CSS.escape(c.id)}"]`)?.parentElement;
      old?.replaceWith(row(c));
    }),
    on('tags', renderTags),
  ];

  // "3分前" goes stale: refresh the relative times every minute.
  const clock = setInterval(() => {
    for (const el of list.querySelectorAll('.conv-time')) el.textContent = relativeTime(Number(el.dataset.ms));
  }, 60_000);

  function filterByTag(tagId) {
    filter.tag = tagId;
    tagSelect.value = tagId;
    reload();
  }

  return { reload, reloadFirstPage, setCounts, markSelected, filterByTag, items: () => items, destroy: () => { clearInterval(clock); offs.forEach((off) => off()); } };
}

