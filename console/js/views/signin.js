// Sign-in page: the operator token form (local) or the Cognito button (AWS).

import { h, replace } from '../dom.js';
import { t, getLang } from '../i18n.js';
import { api, errorText } from '../api.js';
import { authMode, setLocalToken, startCognitoSignIn } from '../auth.js';

/**
 * Renders the page into `main`. `message` (an i18n key) explains why staff are here again
 * (session expired, Cognito refused). `onSignedIn(me)` runs once a token is accepted.
 */
export function renderSignIn(main, { message, onSignedIn }) {
  const error = h('p', { id: 'signin-error', class: 'form-error', role: 'alert' }, message ? t(message) : '');
  error.hidden = !message;
  const showError = (text) => {
    error.textContent = text;
    error.hidden = false;
  };

  let body;
  if (authMode() === 'cognito') {
    const button = h('button', { id: 'signin-cognito', type: 'button', class: 'btn btn-primary btn-wide' }, t('signin.cognito'));
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await startCognitoSignIn(getLang());
      } catch {
        button.disabled = false;
        showError(t('error.unexpected'));
      }
    });
    body = [h('p', { class: 'signin-lead' }, t('signin.cognito_lead')), button];
  } else {
    const input = h('input', { id: 'signin-token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, class: 'input', 'aria-describedby': 'signin-hint' });
    const submit = h('button', { id: 'signin-submit', type: 'submit', class: 'btn btn-primary btn-wide' }, t('signin.submit'));
    const form = h('form', { class: 'signin-form', novalidate: true },
      h('label', { for: 'signin-token', class: 'field-label' }, t('signin.token')),
      input,
      h('p', { id: 'signin-hint', class: 'hint' }, t('signin.token_hint')),
      submit);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) {
        showError(t('signin.empty'));
        input.focus();
        return;
      }
      submit.disabled = true;
      error.hidden = true;
      try {
        const me = await api('GET', 'api/me', { token });
        setLocalToken(token);
        onSignedIn(me);
      } catch (err) {
        showError(err.status === 401 ? t('signin.wrong_token') : errorText(err));
        input.select();
        input.focus();
      } finally {
        submit.disabled = false;
      }
    });
    body = [form];
  }

  replace(main,
    h('section', { class: 'signin', 'aria-labelledby': 'signin-title' },
      h('h1', { id: 'signin-title', class: 'signin-title' }, t('signin.title')),
      h('p', { class: 'signin-sub' }, t('app.tagline')),
      error,
      body));
  main.querySelector('input, button')?.focus();
}
