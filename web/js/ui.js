// What every page shares: messages to the operator and writers' actions.

import { ApiError } from './api.js';
import { h } from './util.js';

export const POLL_MS = 2500;

const notices = document.getElementById('notices');

// a message for the operator: kind 'error' (an API's refusal), 'info', 'fallback'
export function notice(text, kind = 'info', { sticky = false, key } = {}) {
  if (key && notices.querySelector(`[data-key="${CSS.escape(key)}"]`)) return;
  const close = h('a.close', { href: '#', title: 'dismiss', onclick: (ev) => { ev.preventDefault(); n.remove(); } }, '×');
  const n = h(`div.notice.n-${kind}`, { role: kind === 'error' ? 'alert' : 'status', dataset: { kind, key: key || '' } },
    h('span.text', null, text), close);
  notices.append(n);
  if (!sticky && kind !== 'fallback') setTimeout(() => n.remove(), kind === 'error' ? 15000 : 5000);
}

export function errorText(e) {
  return e instanceof ApiError ? e.describe() : String(e && e.message ? e.message : e);
}

// act(button, f, done): a writer's action; the button is busy meanwhile,
// the API's error (its JSON message) is shown to the operator
export async function act(button, f, done) {
  if (button) button.disabled = true;
  try {
    const r = await f();
    if (done) notice(typeof done === 'function' ? done(r) : done, 'info');
    return r;
  } catch (e) {
    notice(errorText(e), 'error');
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

