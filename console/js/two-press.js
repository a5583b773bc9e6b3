// A destructive button that asks by being pressed twice: the first press arms it (its text and
// accessible name say "press again"), the second runs the action; leaving it disarms. No
// blocking confirm(), and a screen reader hears what the next press does.

import { h } from './dom.js';

/**
 * {text, label, confirmText, confirmLabel, action: async () => void, onError(err)}.
 * While the action runs the button is disabled; after a failure it is disarmed.
 */
export function twoPressButton({ text, label, confirmText, confirmLabel, action, onError }) {
  const button = h('button', { type: 'button', class: 'btn btn-danger btn-small', 'aria-label': label }, text);
  let armed = false;
  const disarm = () => {
    armed = false;
    button.textContent = text;
    button.setAttribute('aria-label', label);
  };
  button.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmText;
      button.setAttribute('aria-label', confirmLabel);
      return;
    }
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      button.disabled = false;
      disarm();
      onError(err);
    }
  });
  button.addEventListener('blur', disarm);
  return button;
}
