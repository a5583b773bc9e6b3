// Global shortcuts (as Chatwoot's): Alt+J/K next/previous conversation, Alt+E resolve, ? help.

import { isTypingTarget } from './dom.js';

export function installKeyboard({ next, previous, resolve, shortcuts }) {
  document.addEventListener('keydown', (event) => {
    if (event.isComposing || event.keyCode === 229) return;
    // event.code: Alt changes event.key on macOS (Alt+J is "∆").
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      if (event.code === 'KeyJ') { event.preventDefault(); next(); return; }
      if (event.code === 'KeyK') { event.preventDefault(); previous(); return; }
      if (event.code === 'KeyE') { event.preventDefault(); resolve(); return; }
    }
    if (event.key === '?' && !event.ctrlKey && !event.metaKey && !event.altKey && !isTypingTarget(event.target) && !document.querySelector('dialog[open]')) {
      event.preventDefault();
      shortcuts();
    }
  });
}
