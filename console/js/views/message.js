// One message of the log as a list item: text as text, stickers and media as placeholders or
// our own archived copy, automatic replies with their reason, manual ones with sender and state.

import { h, replace, saveBlob } from '../dom.js';
import { t, formatTime } from '../i18n.js';
import { get, apiBlob, convPath, errorText } from '../api.js';
import { shortId } from '../format.js';

const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'file']);
// Blob URLs made for this conversation's media; revoked when it closes.
const blobUrls = new Set();

export function revokeMedia() {
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls.clear();
}

export function renderMessage(m, convId) {
  const li = h('li', { role: 'none', 'data-id': m.id });
  fillMessage(li, m, convId);
  return li;
}

/** (Re)fills a message item, e.g. when a "sending" reply is known sent. */
export function fillMessage(li, m, convId) {
  const out = m.direction === 'out';
  const isEvent = !out && m.event_type && m.event_type !== 'message';
  li.className = ['msg', out ? 'msg-out' : 'msg-in', isEvent && 'msg-event', out && m.automatic && 'is-automatic', out && `status-${m.status}`]
    .filter(Boolean).join(' ');
  li.dataset.ts = String(m.timestamp_ms ?? '');
  if (isEvent) {
    replace(li, h('p', { class: 'msg-event-text' }, eventText(m), ' ', h('time', { class: 'msg-time' }, formatTime(m.timestamp_ms))));
    return;
  }
  const sender = out ? t('msg.from_account') : t('msg.from_user');
  const groupSender = !out && m.event?.source?.type !== 'user' && m.event?.source?.userId ? shortId(m.event.source.userId) : null;
  replace(li,
    groupSender && h('p', { class: 'msg-sender' }, groupSender),
    h('div', { class: 'msg-bubble' }, h('span', { class: 'visually-hidden' }, `${sender}: `), out ? outboundContent(m) : inboundContent(m, convId)),
    h('p', { class: 'msg-meta' }, out ? outboundMeta(m) : null, h('time', { class: 'msg-time', datetime: new Date(m.timestamp_ms).toISOString() }, formatTime(m.timestamp_ms))));
}

function eventText(m) {
  const key = `event.${m.event_type}`;
  const text = t(key);
  if (m.event_type === 'postback') return `${text}: ${m.event?.postback?.data ?? ''}`;
  return text === key ? `[${m.event_type}]` : text;
}

function textBlock(text) {
  return h('p', { class: 'msg-text' }, text);
}

function sticker(packageId, stickerId) {
  return h('span', { class: 'sticker' }, h('span', { class: 'sticker-label' }, t('msg.sticker')),
    h('span', { class: 'sticker-id' }, `${packageId ?? '?'}/${stickerId ?? '?'}`));
}

function inboundContent(m, convId) {
  const type = m.message_type || m.event?.message?.type;
  const msg = m.event?.message || {};
  if (type === 'text') return textBlock(m.text ?? msg.text ?? '');
  if (type === 'sticker') return sticker(msg.packageId, msg.stickerId);
  // Until the API reports `media`, the LINE message id is where the archive keeps the content.
  const media = m.media ?? (MEDIA_TYPES.has(type) && m.media === undefined && msg.id ? { message_id: msg.id, type, file_name: msg.fileName } : null);
  if (media) return mediaBlock(convId, media);
  if (type === 'location') return textBlock(`${t('msg.location')}: ${[msg.title, msg.address].filter(Boolean).join(' ')}`);
  if (m.text) return textBlock(m.text);
  return textBlock(`[${type || m.event_type || '?'}]`);
}

function outboundContent(m) {
  const parts = [];
  const messages = Array.isArray(m.messages) ? m.messages : [];
  if (!messages.length) return textBlock(m.text ?? '');
  for (const one of messages) {
    if (one.type === 'text') parts.push(textBlock(one.text ?? ''));
    else if (one.type === 'sticker') parts.push(sticker(one.packageId ?? one.package_id, one.stickerId ?? one.sticker_id));
    else if (one.type === 'image') parts.push(textBlock(`[${t('media.image')}]`));
    else parts.push(textBlock(`[${one.type}]`));
  }
  return parts;
}

function outboundMeta(m) {
  if (m.automatic) {
    return [h('span', { class: 'msg-auto' }, t('msg.automatic')), m.reason ? h('span', { class: 'msg-reason' }, m.reason) : null, ' '];
  }
  const by = m.sent_by ?? /^manual reply by (.+)$/.exec(m.reason || '')?.[1] ?? null;
  const status = h('span', { class: `msg-status msg-status-${m.status}` }, t(`msg.status.${m.status}`));
  return [
    by ? h('span', { class: 'msg-by' }, t('msg.sent_by', { name: by })) : null, ' ',
    status, ' ',
    m.status === 'failed' && m.error ? h('span', { class: 'msg-error' }, m.error) : null, ' ',
  ];
}

function mediaBlock(convId, media) {
  const box = h('div', { class: `media media-${media.type}` });
  const path = convPath(convId, `/media/${encodeURIComponent(media.message_id)}`);
  const label = media.file_name || t(`media.${media.type}`);

  const showFailure = (err, retry) => {
    const text = err.status === 404 ? t('media.not_yet') : errorText(err);
    const again = h('button', { type: 'button', class: 'btn btn-secondary btn-small' }, t('media.retry'));
    again.addEventListener('click', retry);
    replace(box, h('span', { class: 'media-missing' }, h('span', { class: 'media-kind' }, t(`media.${media.type}`)), ' ', text), ' ', again);
  };

  if (media.type === 'image') {
    const load = async () => {
      replace(box, h('span', { class: 'media-loading' }, t('media.loading')));
      try {
        const info = await get(path);
        let src = info.url;
        if (info.authenticated) {
          src = URL.createObjectURL((await apiBlob(info.url)).blob);
          blobUrls.add(src);
        }
        const img = h('img', { class: 'media-image', src, alt: t('media.image') });
        // A presigned link lasts minutes: ask again once when it stops working.
        if (!info.authenticated) img.addEventListener('error', load, { once: true });
        replace(box, img);
      } catch (err) {
        showFailure(err, load);
      }
    };
    load();
    return box;
  }

  const download = async (event) => {
    event?.preventDefault();
    try {
      const info = await get(path);
      if (info.authenticated) {
        const { blob, filename } = await apiBlob(info.url);
        saveBlob(blob, media.file_name || filename || `${media.type}-${media.message_id}`);
      } else {
        window.open(info.url, '_blank', 'noopener');
      }
      replace(box, link());
    } catch (err) {
      showFailure(err, download);
    }
  };
  const link = () => {
    const a = h('a', { href: '#', class: 'media-link' }, h('span', { class: 'media-kind' }, t(`media.${media.type}`)), ' ', t('media.download', { name: label }));
    a.addEventListener('click', download);
    return a;
  };
  replace(box, link());
  return box;
}
