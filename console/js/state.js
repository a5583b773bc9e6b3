// The one place for shared state (who is signed in, the open conversation, tags, counts) and a
// tiny event bus so views re-render from it instead of calling each other.

export const state = {
  config: { auth: 'token' },
  me: null,
  /** The open conversation (as the API last returned it), or null. */
  conversation: null,
  /** The list's rows in order (for Alt+J/K). */
  listIds: [],
  /** Conversations seen anywhere, by id: names for search hits and notifications. */
  known: new Map(),
  tags: [],
  inbox: null,
};

const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}

export function emit(event, data) {
  for (const fn of listeners.get(event) ?? []) fn(data);
}

/** Records a conversation the API returned and tells the views (list row, header, side pane). */
export function conversationChanged(conv) {
  if (!conv?.id) return;
  state.known.set(conv.id, conv);
  if (state.conversation?.id === conv.id) state.conversation = conv;
  emit('conversation', conv);
}

export function isAdmin() {
  return state.me?.role === 'admin';
}
