// What every page shares: messages to the operator and writers' actions.

import { ApiError } from './api.js';
import { h } from './util.js';

export const POLL_MS = 2500;

const notices = document.getElementById('notices');
const notes = document.getElementById('notes');

// a message for the operator: kind 'error' (an API's refusal) and 'info'
// come and go in a corner (clicks pass through them); 'fallback' and sticky
// ones stay in a band above the page
export function notice(text, kind = 'info', { sticky = false, key } = {}) {
  const band = sticky || kind === 'fallback';
  const box = band ? notes : notices;
  if (key && box.querySelector(`[data-key="${CSS.escape(key)}"]`)) return;
  const close = h('a.close', { href: '#', title: 'dismiss', onclick: (ev) => { ev.preventDefault(); n.remove(); } }, '×');
  const n = h(`div.notice.n-${kind}`, { role: kind === 'error' ? 'alert' : 'status', dataset: { kind, key: key || '' } },
    h('span.text', null, text), close);
  box.append(n);
  if (!band) setTimeout(() => n.remove(), kind === 'error' ? 15000 : 5000);
}

export function errorText(e) {
  return e instanceof ApiError ? e.describe() : String(e && e.message ? e.message : e);
}

// act(button, f, done): a writer's action; the button is busy meanwhile,
// the API's error (its JSON message) is shown to the operator
export async function act(button, f, done) {
  if (button) {
    button.disabled = true;
    const old = button.nextElementSibling;
    if (old && old.classList.contains('act-error')) old.remove();
  }
  try {
    const r = await f();
    if (done) notice(typeof done === 'function' ? done(r) : done, 'info');
    return r;
  } catch (e) {
    // in the corner, and beside the control that failed
    notice(errorText(e), 'error');
    if (button && button.isConnected) button.after(h('span.act-error', { role: 'alert' }, errorText(e)));
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

