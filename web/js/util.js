// Small DOM and formatting helpers.  Everything is built with
// createElement/textContent: no HTML from the API is ever parsed, and no
// inline style or script is needed (the page runs under
// Content-Security-Policy: default-src 'self').

// h('div.tile', {dataset: {id: 3}, onclick: f}, child, 'text', ...)
export function h(tag, props, ...children) {
  const [name, ...classes] = tag.split('.');
  const e = document.createElement(name || 'div');
  if (classes.length) e.className = classes.join(' ');
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'class') e.className = [e.className, v].filter(Boolean).join(' ');
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else if (k in e && typeof v !== 'string') e[k] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(e, ...children) {
  e.replaceChildren();
  append(e, children);
  return e;
}

// one formatter for the page: toLocaleString() with options builds a new
// one per call, and a wall of 200 tiles formats 600 times (a badge's title each)
const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function fmtTime(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  return TIME_FORMAT.format(d);
}

// "3 min ago", "2 h 5 min ago"
export function fmtAgo(ts, now = Date.now()) {
  if (!ts) return '—';
  const s = Math.max(0, Math.round((now - new Date(ts).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr} h ${m % 60} min ago`;
  return `${Math.floor(hr / 24)} days ago`;
}

export function debounce(f, ms) {
  let t = null;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => f(...a), ms);
  };
}

export const VISION_ALERTS = new Set(['blur', 'obstruction', 'displacement', 'frozen']);
export const ALERT_TYPES = ['camera_unreachable', 'port_unavailable', 'high_latency', 'stream_unavailable',
  'blur', 'obstruction', 'displacement', 'frozen'];
export const CHECKS = ['ip', 'port', 'vision'];

export function statusBadge(check, status, since) {
  const st = status || 'none';
  return h(`span.badge.st-${st}`, {
    title: since ? `${check}: ${st} since ${fmtTime(since)}` : `${check}: ${status ? st : 'not checked yet'}`,
    dataset: { check, status: st },
  }, `${check} ${status || '?'}`);
}

export function healthBadge(health) {
  return h(`span.health.h-${health}`, { dataset: { health } }, health);
}

export function cameraLabel(c) {
  return c.name || c.camera_name || `camera ${c.id ?? c.camera_id}`;
}
