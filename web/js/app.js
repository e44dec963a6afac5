// The operator's dashboard: one page, two hash routes
//   #/             the fleet: counts, sites, open alerts, the wall of cameras
//   #/camera/<id>  one camera: checks, heartbeat, latency, pictures, alerts
// Live: each page polls cheap reads every 2.5 s.

import { takeTokenFromUrl, session, setToken } from './auth.js';
import { onFallback } from './api.js';
import { h, clear } from './util.js';
import { notice, errorText } from './ui.js';
import { fleetPage } from './fleet.js';
import { cameraPage } from './camera.js';

const main = document.getElementById('main');
const who = document.getElementById('who');
const live = document.getElementById('live');
let page = null;

onFallback((name, instead) =>
  notice(`${name} is not on this server yet (404): ${instead}.`, 'fallback', { sticky: true, key: name }));

// poller(): every(ms, f) runs f now and then ms after each run ends (runs
// never overlap); stop() ends them all when the page changes
function poller() {
  const timers = new Set();
  let stopped = false;
  return {
    every(ms, f) {
      const run = async () => {
        if (stopped) return;
        try {
          await f();
          live.classList.remove('down');
          live.dataset.last = String(Date.now());
        } catch (e) {
          live.classList.add('down');
          live.title = `live updates failing: ${errorText(e)}`;
        }
        if (!stopped) {
          const t = setTimeout(() => { timers.delete(t); run(); }, ms);
          timers.add(t);
        }
      };
      run();
    },
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    get stopped() { return stopped; },
  };
}

function renderWho() {
  const s = session();
  if (s.error || s.expired) {
    notice(s.error || 'the token has expired: sign in again', 'error', { sticky: true, key: 'token' });
  }
  const signOut = h('a.signout', { href: '#', dataset: { nav: 'signout' },
    onclick: (ev) => { ev.preventDefault(); setToken(null); renderWho(); route(); } }, 'sign out');
  if (!s.token) {
    const input = h('input.token', { type: 'password', placeholder: 'paste a token', autocomplete: 'off',
      'aria-label': 'token', dataset: { nav: 'token' } });
    const form = h('form.signin', { onsubmit: (ev) => {
      ev.preventDefault();
      if (input.value.trim()) { setToken(input.value); renderWho(); route(); }
    } }, h('span.role', { dataset: { role: 'anon' } }, 'read only'), input,
    h('button', { type: 'submit', dataset: { nav: 'signin' } }, 'sign in'));
    clear(who, form);
  } else {
    const label = s.role === 'camera_health_writer' ? 'writer' : s.role === 'camera_health_reader' ? 'reader (read only)' : s.role;
    clear(who, h('span.role', { dataset: { role: s.role } }, label), ' ', signOut);
  }
  document.body.classList.toggle('can-write', s.canWrite);
}

function route() {
  if (takeTokenFromUrl()) renderWho();
  if (page) page.stop();
  const p = poller();
  const ctx = { session: session(), every: p.every, stopped: () => p.stopped };
  const m = location.hash.match(/^#\/camera\/([0-9]{1,18})(?:[/?]|$)/);
  window.scrollTo(0, 0);
  clear(main);
  delete main.dataset.polls;
  const view = m ? cameraPage(main, Number(m[1]), ctx) : fleetPage(main, ctx);
  page = { stop() { p.stop(); if (view && view.stop) view.stop(); } };
}

takeTokenFromUrl();
renderWho();
window.addEventListener('hashchange', route);
route();
