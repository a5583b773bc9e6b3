// Exports (#/admin/exports): start a job (everything, one conversation or a tag; a date range;
// CSV or Excel), follow its progress, download the file (with the bearer when it is ours).

import { h, replace, saveBlob } from '../dom.js';
import { t, dayKey, startOfDay, nextDay, formatDateTime } from '../i18n.js';
import { get, post, apiBlob, errorText } from '../api.js';
import { state } from '../state.js';

const POLL_MS = 2_000;
const DAY_MS = 86_400_000;

export function openExports(main) {
  let timer = 0;
  let destroyed = false;

  const radio = (nameAttr, value, label, checked) => {
    const id = `export-${nameAttr}-${value}`;
    return h('label', { class: 'check', for: id }, h('input', { type: 'radio', name: nameAttr, id, value, checked }), label);
  };
  const scope = h('fieldset', { class: 'fieldset' }, h('legend', null, t('exports.scope')),
    radio('scope', 'all', t('exports.scope_all'), true), ' ',
    radio('scope', 'conversation', t('exports.scope_conversation'), false), ' ',
    radio('scope', 'tag', t('exports.scope_tag'), false));
  const conv = h('input', { id: 'export-conversation', class: 'input', value: state.lastConversationId ?? '', placeholder: 'user:U…', autocomplete: 'off' });
  const tag = h('select', { id: 'export-tag', class: 'select' }, state.tags.map((x) => h('option', { value: x.id }, x.name)));
  const from = h('input', { id: 'export-from', type: 'date', class: 'input', value: dayKey(Date.now() - 30 * DAY_MS) });
  const to = h('input', { id: 'export-to', type: 'date', class: 'input', value: dayKey(Date.now()) });
  const format = h('fieldset', { class: 'fieldset' }, h('legend', null, t('exports.format')),
    radio('format', 'csv', 'CSV', true), ' ', radio('format', 'xlsx', 'Excel (xlsx)', false));
  const start = h('button', { id: 'export-start', type: 'submit', class: 'btn btn-primary' }, t('exports.start'));
  const error = h('p', { id: 'export-error', class: 'form-error', role: 'alert', hidden: true });
  const progress = h('div', { id: 'export-status', role: 'status', class: 'export-status' });

  const form = h('form', { class: 'export-form' },
    scope,
    h('div', { class: 'form-grid' },
      h('div', null, h('label', { for: 'export-conversation', class: 'field-label' }, t('exports.conversation')), conv),
      h('div', null, h('label', { for: 'export-tag', class: 'field-label' }, t('exports.tag')), tag),
      h('div', null, h('label', { for: 'export-from', class: 'field-label' }, t('exports.from')), from),
      h('div', null, h('label', { for: 'export-to', class: 'field-label' }, t('exports.to')), to)),
    format,
    h('div', { class: 'actions' }, start),
    error);
  replace(main, h('section', { class: 'view', 'aria-labelledby': 'exports-title' },
    h('h2', { id: 'exports-title', class: 'view-title' }, t('exports.title')),
    h('p', { class: 'hint' }, t('exports.lead')), form, progress));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const kind = form.querySelector('input[name="scope"]:checked').value;
    const body = {
      scope: kind === 'conversation' ? { kind, id: conv.value.trim() } : kind === 'tag' ? { kind, tag_id: tag.value } : { kind: 'all' },
      range: {
        from_ms: from.value ? startOfDay(from.value) : null,
        to_ms: to.value ? startOfDay(nextDay(to.value)) : null,
      },
      format: form.querySelector('input[name="format"]:checked').value,
    };
    start.disabled = true;
    error.hidden = true;
    try {
      show(await post('api/exports', body));
    } catch (err) {
      error.textContent = errorText(err);
      error.hidden = false;
      start.disabled = false;
    }
  });

  function show(job) {
    const state = job.status?.state ?? 'queued';
    const done = state === 'done';
    const failed = state === 'failed';
    const parts = [h('p', null, t(`exports.state_${state}`), ' ', t('exports.rows', { n: job.rows ?? 0 }))];
    if (!done && !failed) parts.push(h('progress', { class: 'progress', 'aria-label': t('exports.progress') }));
    if (failed) parts.push(h('p', { class: 'form-error' }, job.status.error));
    if (done && job.link?.url) parts.push(downloadLink(job));
    if (job.finished_ms) parts.push(h('p', { class: 'hint' }, formatDateTime(job.finished_ms)));
    replace(progress, parts);
    clearTimeout(timer);
    if (!done && !failed && !destroyed) {
      timer = setTimeout(async () => {
        try {
          show(await get(`api/exports/${encodeURIComponent(job.id)}`));
        } catch (err) {
          error.textContent = errorText(err);
          error.hidden = false;
          start.disabled = false;
        }
      }, POLL_MS);
    } else {
      start.disabled = false;
    }
  }

  function downloadLink(job) {
    const url = job.link.url;
    const name = job.output_key?.split('/').pop() || `export.${job.request?.format ?? 'csv'}`;
    // Our own route needs the bearer, so it is fetched and saved; a presigned link is a plain link.
    if (url.startsWith('/api/') || url.startsWith('api/')) {
      const b = h('button', { id: 'export-download', type: 'button', class: 'btn btn-primary' }, t('exports.download', { name }));
      b.addEventListener('click', async () => {
        b.disabled = true;
        try {
          const { blob, filename } = await apiBlob(url);
          saveBlob(blob, filename || name);
        } catch (err) {
          error.textContent = errorText(err);
          error.hidden = false;
        } finally {
          b.disabled = false;
        }
      });
      return b;
    }
    return h('a', { id: 'export-download', class: 'btn btn-primary', href: url, rel: 'noopener' }, t('exports.download', { name }));
  }

  return { destroy() { destroyed = true; clearTimeout(timer); } };
}
