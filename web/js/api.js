// The API on the page's own origin: the service's /health/... paths (nginx)
// and PostgREST's (/rpc/..., the views /cameras, /camera_status,
// /open_alerts).  Every call sends the operator's token, if any.
//
// /health/board, /health/alerts and /health/camera/{id}/heartbeat are the
// dashboard's own reads.  A server that has not got them yet answers them
// with nginx's 404 (code HTTP404): the page then says so once and reads the
// same from the views and the older paths (slower for a large fleet).

import { token } from './auth.js';

export class ApiError extends Error {
  constructor(status, body, method, path) {
    const b = body && typeof body === 'object' ? body : null;
    super(b && b.message ? b.message : `${method} ${path}: HTTP ${status}`);
    this.status = status;
    this.body = b;
    this.code = b ? b.code : null;
    this.method = method;
    this.path = path;
  }

  // the whole JSON error, as an operator can read it
  describe() {
    const b = this.body;
    if (!b) return `${this.method} ${this.path}: HTTP ${this.status}`;
    return [`${b.message}`, b.details && `(${b.details})`, b.hint, b.code && `[${this.status} ${b.code}]`]
      .filter(Boolean).join(' ');
  }
}

// an unknown path (nginx's 404, PostgREST's unknown function or relation),
// not an unknown camera (P0002)
export function isMissingPath(e) {
  return e instanceof ApiError && e.status === 404 &&
    (!e.code || e.code === 'HTTP404' || e.code === 'PGRST202' || e.code === '42P01' || e.code === 'PGRST205');
}

let fallbackListener = () => {};
export function onFallback(f) { fallbackListener = f; }
const missing = new Set();
function noteMissing(name, instead) {
  if (missing.has(name)) return;
  missing.add(name);
  fallbackListener(name, instead);
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const init = { method, headers, signal, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!r.ok) throw new ApiError(r.status, data, method, path);
  return data;
}

function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---- the fleet --------------------------------------------------------------

export const summary = () => api('/health/summary');

export async function currentWindows() {
  const now = Date.now();
  const all = await api('/health/maintenance?only_current=true');
  return all.filter((w) => new Date(w.starts_at).getTime() <= now && new Date(w.ends_at).getTime() > now);
}

export function covers(w, cam) {
  return (w.camera_id == null || w.camera_id === cam.id) && (w.site == null || w.site === cam.site);
}

// cameras in maintenance now: the summary's own figure when it has one,
// else counted from the current windows (the fleet's, its sites', cameras')
export async function maintenanceCount(s) {
  for (const k of ['in_maintenance', 'maintenance']) {
    if (typeof s[k] === 'number') return s[k];
  }
  const windows = await currentWindows();
  if (!windows.length) return 0;
  if (windows.some((w) => w.camera_id == null && w.site == null)) return s.cameras;
  const sites = new Set(windows.filter((w) => w.camera_id == null).map((w) => w.site));
  let n = 0;
  for (const st of s.sites || []) if (st.site !== null && sites.has(st.site)) n += st.cameras;
  const ids = [...new Set(windows.filter((w) => w.camera_id != null).map((w) => w.camera_id))];
  if (ids.length) {
    const cams = await api(`/cameras${qs({ select: 'id,site', id: `in.(${ids.join(',')})` })}`);
    n += cams.filter((c) => !sites.has(c.site) && windows.some((w) => w.camera_id === c.id && covers(w, c))).length;
  }
  return n;
}

function pgrstQuote(s) {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function healthOf(cam, statuses, inMaintenance) {
  if (!cam.enabled) return 'disabled';
  if (inMaintenance) return 'maintenance';
  const st = Object.values(statuses);
  if (!st.length) return 'unknown';
  return st.every((x) => x.status === 'ok') ? 'healthy' : 'unhealthy';
}

async function boardFromViews(p) {
  const q = { select: 'id,name,site,tags,ip_address,enabled', order: 'id', limit: p.max_rows || 200 };
  if (p.after_id) q.id = `gt.${p.after_id}`;
  if (p.site) q.site = `eq.${p.site}`;
  const s = (p.search || '').trim();
  if (s) {
    const like = pgrstQuote(`*${s}*`);
    const ors = [`name.ilike.${like}`, `site.ilike.${like}`];
    if (/^[\w.:-]+$/.test(s)) ors.push(`tags.cs.{${s}}`);
    if (/^[0-9.]+$/.test(s) && s.split('.').length === 4) ors.push(`ip_address.eq.${s}`);
    q.or = `(${ors.join(',')})`;
  }
  const cams = await api(`/cameras${qs(q)}`);
  if (!cams.length) return { rows: [], last_id: null, more: false };
  const ids = cams.map((c) => c.id).join(',');
  const [status, alerts, windows] = await Promise.all([
    api(`/camera_status${qs({ select: 'camera_id,check_type,status,since', camera_id: `in.(${ids})` })}`),
    api(`/open_alerts${qs({ select: 'camera_id,severity', camera_id: `in.(${ids})` })}`),
    currentWindows(),
  ]);
  const rows = cams.map((c) => {
    const st = {};
    for (const s2 of status) if (s2.camera_id === c.id) st[s2.check_type] = s2;
    const al = alerts.filter((a) => a.camera_id === c.id);
    const inM = windows.some((w) => covers(w, c));
    return {
      ...c,
      in_maintenance: inM,
      health: healthOf(c, st, inM),
      ip_status: st.ip?.status ?? null, ip_since: st.ip?.since ?? null,
      port_status: st.port?.status ?? null, port_since: st.port?.since ?? null,
      vision_status: st.vision?.status ?? null, vision_since: st.vision?.since ?? null,
      // no vision check that got a frame, no picture (the board knows when)
      snapshot_at: st.vision && st.vision.status !== 'error' ? undefined : null,
      open_alerts: al.length,
      worst_severity: al.some((a) => a.severity === 'critical') ? 'critical' : al.length ? 'warning' : null,
    };
  });
  return { rows: p.status ? rows.filter((r) => r.health === p.status) : rows, last_id: cams[cams.length - 1].id,
    more: cams.length === q.limit };
}

// a page of the wall: {rows, last_id (the keyset of the next page), more (is there one), fallback}
let boardMissing = false;
export async function board(p) {
  if (!boardMissing) {
    try {
      const rows = await api(`/health/board${qs({ search: p.search, site: p.site, status: p.status,
        max_rows: p.max_rows, after_id: p.after_id })}`);
      return { rows, last_id: rows.length ? rows[rows.length - 1].id : null,
        more: rows.length === (p.max_rows || 100), fallback: false };
    } catch (e) {
      if (!isMissingPath(e)) throw e;
      boardMissing = true;
      noteMissing('GET /health/board', 'the wall reads /cameras, /camera_status and /open_alerts instead');
    }
  }
  const r = await boardFromViews(p);
  return { ...r, fallback: true };
}

async function alertsFromViews(p) {
  const want = p.max_rows || 50;
  const q = { order: 'id.desc', limit: p.site ? 1000 : want };
  if (p.before_id) q.id = `lt.${p.before_id}`;
  if (p.severity) q.severity = `eq.${p.severity}`;
  if (p.alert_type) q.alert_type = `eq.${p.alert_type}`;
  const rows = await api(`/open_alerts${qs(q)}`);
  const ids = [...new Set(rows.map((a) => a.camera_id))];
  const cams = ids.length ? await api(`/cameras${qs({ select: 'id,name,site', id: `in.(${ids.join(',')})` })}`) : [];
  const byId = new Map(cams.map((c) => [c.id, c]));
  return rows
    .map((a) => ({
      ...a,
      camera_name: byId.get(a.camera_id)?.name ?? null,
      site: byId.get(a.camera_id)?.site ?? null,
      acknowledged: a.status === 'acknowledged',
      has_evidence: null,
    }))
    .filter((a) => !p.site || a.site === p.site)
    .slice(0, want);
}

// open alerts, newest first
let alertsMissing = false;
export async function openAlerts(p) {
  if (!alertsMissing) {
    try {
      return await api(`/health/alerts${qs({ site: p.site, alert_type: p.alert_type, severity: p.severity,
        max_rows: p.max_rows, before_id: p.before_id })}`);
    } catch (e) {
      if (!isMissingPath(e)) throw e;
      alertsMissing = true;
      noteMissing('GET /health/alerts', 'the open alerts are read from /open_alerts instead');
    }
  }
  return alertsFromViews(p);
}

// ---- one camera -------------------------------------------------------------

export const camera = (id) => api(`/health/camera/${id}`);
export const cameraStatus = (id) =>
  api(`/camera_status${qs({ camera_id: `eq.${id}`, select: 'check_type,status,since,checked_at,streak', order: 'check_type' })}`);
export const cameraAlerts = (id, maxRows = 50) => api(`/health/camera/${id}/alerts${qs({ max_rows: maxRows })}`);
export const pictures = (id) => api(`/health/camera/${id}/pictures`);
export const logRetention = (id) => api(`/health/camera/${id}/log-retention`);
export const maintenanceWindows = () => api('/health/maintenance?only_current=true');

const STATUS_CHAR = { ok: 'o', warning: 'w', critical: 'c', error: 'e' };

// the last 24 hours of checks: {checks: [{check_type, at_ms, status}], latency: {ip|port: {at_ms, ms}}, fallback}
let heartbeatMissing = false;
export async function heartbeat(id, sinceMs) {
  const since = new Date(sinceMs).toISOString();
  if (!heartbeatMissing) {
    try {
      const rows = await api(`/health/camera/${id}/heartbeat${qs({ since })}`);
      const latency = {};
      for (const r of rows) {
        if (!Array.isArray(r.latency_ms)) continue;
        const at = [], ms = [];
        r.latency_ms.forEach((v, i) => { if (v !== null && v !== undefined) { at.push(r.at_ms[i]); ms.push(v); } });
        if (at.length) latency[r.check_type] = { at_ms: at, ms };
      }
      return { checks: rows, latency, fallback: false };
    } catch (e) {
      if (!isMissingPath(e)) throw e;
      heartbeatMissing = true;
      noteMissing('GET /health/camera/{id}/heartbeat', 'the heartbeat is read from /logs and /latency (at most 10,000 checks)');
    }
  }
  const [logs, lat] = await Promise.all([
    api(`/health/camera/${id}/logs${qs({ since, max_rows: 10000 })}`),
    api(`/health/camera/${id}/latency${qs({ since, max_rows: 10000 })}`),
  ]);
  const by = {};
  for (const l of logs.slice().reverse()) {
    const c = (by[l.check_type] ||= { check_type: l.check_type, at_ms: [], status: '' });
    c.at_ms.push(new Date(l.created_at).getTime());
    c.status += STATUS_CHAR[l.status] || 'e';
  }
  const latency = {};
  for (const l of lat.slice().reverse()) {
    const c = (latency[l.check_type] ||= { at_ms: [], ms: [] });
    c.at_ms.push(new Date(l.created_at).getTime());
    c.ms.push(Number(l.latency));
  }
  return { checks: Object.values(by), latency, fallback: true };
}

// ---- acting (writers) -----------------------------------------------------------

export const acknowledge = (cameraId, alertId) =>
  api(`/health/camera/${cameraId}/alerts/${alertId}/acknowledge`, { method: 'POST' });
export const setEnabled = (id, on) => api(`/health/camera/${id}/${on ? 'enable' : 'disable'}`, { method: 'POST' });
export const resetReference = (id) => api(`/health/camera/${id}/reference`, { method: 'DELETE' });
export const addMaintenance = (w) => api('/health/maintenance', { method: 'POST', body: w });
export const endMaintenance = (id) => api(`/health/maintenance/${id}/end`, { method: 'POST' });
