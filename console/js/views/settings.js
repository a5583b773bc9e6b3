// Settings (#/admin/settings, admins): the TOML as text, saved with the version it was read
// at. A 400 names the key (`greeting.messages[1]`: …): shown beside the editor, caret moved there.

import { h, replace } from '../dom.js';
import { t, formatDateTime } from '../i18n.js';
import { get, put, errorText } from '../api.js';

/** The line (0-based) where a dotted key like `greeting.messages[1]` is set, or -1. */
export function lineOfKey(toml, key) {
  const lines = toml.split('\n');
  const parts = key.replace(/\[(\d+)\]/g, '.#$1').split('.').filter(Boolean);
  // The deepest table header that is a prefix of the key ([a.b] or the n-th [[a.b]]).
  let start = 0;
  let end = lines.length;
  let used = 0;
  for (let n = parts.length; n > 0; n -= 1) {
    const prefix = parts.slice(0, n);
    const names = prefix.filter((p) => !p.startsWith('#'));
    const index = prefix[n - 1].startsWith('#') ? Number(prefix[n - 1].slice(1)) : null;
    const header = names.join('.');
    const re = new RegExp(`^\\s*\\[\\[?\\s*${header.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\]\\]?`);
    const hits = lines.map((l, i) => (re.test(l) ? i : -1)).filter((i) => i >= 0);
    if (!hits.length) continue;
    const at = index !== null && hits[index] !== undefined ? hits[index] : hits[0];
    start = at;
    const nextHeader = lines.findIndex((l, i) => i > at && /^\s*\[/.test(l));
    end = nextHeader < 0 ? lines.length : nextHeader;
    used = n;
    break;
  }
  const rest = parts.slice(used).filter((p) => !p.startsWith('#'));
  if (!rest.length) return used ? start : -1;
  const keyRe = new RegExp(`^\\s*["']?${rest[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*=`);
  for (let i = start; i < end; i += 1) if (keyRe.test(lines[i])) return i;
  return used ? start : -1;
}

export function openSettings(main) {
  let version = null;
  const editor = h('textarea', { id: 'settings-toml', class: 'textarea editor', spellcheck: 'false', autocomplete: 'off', 'aria-describedby': 'settings-meta settings-error' });
  const meta = h('p', { id: 'settings-meta', class: 'hint' });
  const save = h('button', { id: 'settings-save', type: 'submit', class: 'btn btn-primary', disabled: true }, t('settings.save'));
  const error = h('p', { id: 'settings-error', class: 'form-error', role: 'alert', hidden: true });
  const conflict = h('div', { id: 'settings-conflict', class: 'form-error', role: 'alert', hidden: true },
    h('p', null, t('settings.conflict')));
  const reload = h('button', { id: 'settings-reload', type: 'button', class: 'btn btn-secondary btn-small' }, t('settings.reload'));
  conflict.append(reload);
  const ok = h('p', { id: 'settings-status', class: 'form-ok', role: 'status' });

  const form = h('form', { class: 'settings-form' },
    h('label', { for: 'settings-toml', class: 'field-label' }, t('settings.label')),
    meta, error, conflict, editor,
    h('div', { class: 'actions' }, save, ok));
  replace(main, h('section', { class: 'view', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title', class: 'view-title' }, t('settings.title')),
    h('p', { class: 'hint' }, t('settings.lead')), form));

  async function load() {
    save.disabled = true;
    error.hidden = true;
    conflict.hidden = true;
    try {
      const s = await get('api/settings');
      editor.value = s.toml ?? '';
      version = s.version;
      meta.textContent = t('settings.meta', { version: s.version, source: s.source === 'api' ? t('settings.source_api') : t('settings.source_file') }) +
        (s.saved_ms ? ` ${formatDateTime(s.saved_ms)}` : '');
      save.disabled = false;
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
    }
  }
  reload.addEventListener('click', () => { ok.textContent = ''; load(); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    error.hidden = true;
    conflict.hidden = true;
    ok.textContent = '';
    try {
      const answer = await put('api/settings', { toml: editor.value, version });
      version = answer.version;
      meta.textContent = t('settings.meta', { version, source: t('settings.source_api') });
      ok.textContent = t('settings.saved', { version });
    } catch (err) {
      if (err.status === 409) {
        conflict.hidden = false;
      } else {
        showKeyError(err);
      }
    } finally {
      save.disabled = false;
    }
  });

  function showKeyError(err) {
    // "`toml`: invalid settings: `greeting.messages[1]`: problem", or a TOML syntax error that
    // says where ("TOML parse error at line 41, column 54").
    const message = (err.message || '').replace(/^`toml`:\s*(invalid settings:\s*)?/, '');
    const key = /^`([^`]+)`:\s*/.exec(message)?.[1];
    const parseLine = key ? null : /at line (\d+)/.exec(message);
    error.replaceChildren();
    if (err.status !== 400) {
      error.textContent = errorText(err);
      error.hidden = false;
      return;
    }
    let line = -1;
    if (key) {
      error.append(h('code', { class: 'settings-key' }, key), ': ', message.replace(/^`[^`]+`:\s*/, ''));
      line = lineOfKey(editor.value, key);
    } else {
      error.append(message);
    }
    if (line < 0 && parseLine) line = Number(parseLine[1]) - 1;
    if (line >= 0) {
      error.append(' ', t('settings.at_line', { line: line + 1 }));
      moveCaret(line);
    }
    error.hidden = false;
  }

  function moveCaret(line) {
    const lines = editor.value.split('\n');
    if (line >= lines.length) return;
    const offset = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(offset, offset + lines[line].length);
    // Bring the line into view: one line-height per line.
    const lh = parseFloat(getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, line * lh - editor.clientHeight / 3);
  }

  load();
  return { destroy() {} };
}
