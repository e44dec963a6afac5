// One camera: its checks and since when, a 24-hour heartbeat per check and
// the latency (canvas), the reference, the latest frame and each vision
// alert's evidence side by side, the alert history, the maintenance windows
// that cover it and its log retention.  Writers also get its controls.

import * as API from './api.js';
import { h, clear, fmtTime, fmtAgo, statusBadge, healthBadge, cameraLabel, CHECKS, VISION_ALERTS } from './util.js';
import { POLL_MS, notice, errorText, act } from './ui.js';
import { drawHeartbeat, drawLatency } from './charts.js';
import { maintenanceForm, windowRow } from './maintenance.js';

const DAY = 24 * 3600e3;

export function cameraPage(main, id, ctx) {
  const canWrite = ctx.session.canWrite;
  let cam = null;
  let lastAlertsKey = '';
  let lastPicturesKey = '';
  let alertsChanged = false;
  let polls = 0;
  let hb = null;

  const title = h('h1', null, `camera ${id}`);
  const meta = h('p.meta');
  const controls = h('div.controls');
  const checksBody = h('tbody');
  const checks = h('section.card.checks', null, h('h2', null, 'Checks'),
    h('table.grid', null, h('thead', null, h('tr', null, ['check', 'status', 'since', 'last checked', 'streak']
      .map((c) => h('th', null, c)))), checksBody));
  const beats = h('div.beats');
  const latency = h('canvas.latency', { 'aria-label': 'latency over the last 24 hours' });
  const heartbeatInfo = h('p.muted.small');
  const heartbeat = h('section.card.heartbeat', null, h('h2', null, 'Last 24 hours'), beats,
    h('h3', null, 'Latency ', h('span.legend.ip', null, 'ip'), ' ', h('span.legend.port', null, 'port')), latency, heartbeatInfo);
  const pics = h('div.pictures');
  const pictures = h('section.card.pictures-card', null, h('h2', null, 'Pictures'), pics);
  const alertsBody = h('tbody');
  const alerts = h('section.card.history', null, h('h2', null, 'Alert history'),
    h('table.grid', null, h('thead', null, h('tr', null,
      ['opened', 'type', 'severity', 'status', 'message', 'last seen', 'resolved', ''].map((c) => h('th', null, c)))), alertsBody));
  const windows = h('ul.windows');
  const maint = h('section.card.maint', null, h('h2', null, 'Maintenance'), windows,
    canWrite ? maintenanceForm({ scope: 'camera', cameraId: id, onDone: () => refreshWindows() }) : null);
  const retention = h('section.card.retention', null, h('h2', null, 'Log retention'), h('p.value', null, '…'));

  clear(main, h('p.back', null, h('a', { href: '#/' }, '← fleet')), title, meta, controls, checks, pictures,
    heartbeat, alerts, h('div.columns', null, h('div.col-main', null, maint), h('div.col-side', null, retention)));

  // ---- the camera itself and the writer's controls
  function renderCamera(c) {
    cam = c;
    clear(title, cameraLabel(c), ' ', healthBadge(c.enabled ? 'enabled' : 'disabled'));
    clear(meta, h('span.addr', null, `${c.ip_address}:${c.port}`), c.site ? h('span.site', null, c.site) : null,
      (c.tags || []).map((t) => h('span.tag', null, t)),
      h('span.muted', null, `every ${c.interval_ip} s / ${c.interval_port} s / ${c.interval_vision} s (ip / port / vision)`));
    if (!canWrite) return;
    clear(controls,
      h('button.act', { type: 'button', dataset: { action: c.enabled ? 'disable' : 'enable' },
        onclick: async (ev) => {
          const r = await act(ev.currentTarget, () => API.setEnabled(id, !c.enabled),
            (x) => `${cameraLabel(x)} ${x.enabled ? 'enabled' : 'disabled'}`);
          if (r) renderCamera(r);
        } }, c.enabled ? 'Disable camera' : 'Enable camera'),
      h('button.act', { type: 'button', dataset: { action: 'reset-reference' },
        onclick: async (ev) => {
          if (!window.confirm('Drop the reference frame? The next good frame becomes the new one.')) return;
          const r = await act(ev.currentTarget, () => API.resetReference(id),
            (x) => (x.reference_dropped ? 'reference dropped: the next good frame becomes the new one' : 'there was no reference'));
          if (r) { lastPicturesKey = ''; refreshPictures(); }
        } }, 'Reset reference'));
  }

  // ---- checks
  async function refreshStatus() {
    const rows = await API.cameraStatus(id);
    const by = new Map(rows.map((r) => [r.check_type, r]));
    clear(checksBody, CHECKS.map((k) => {
      const r = by.get(k);
      return h('tr', { dataset: { check: k, status: r ? r.status : 'none' } },
        h('td', null, k), h('td', null, statusBadge(k, r && r.status, r && r.since)),
        h('td', { title: r ? fmtTime(r.since) : '' }, r ? fmtAgo(r.since) : '—'),
        h('td', null, r ? fmtAgo(r.checked_at) : 'not checked yet'), h('td', null, r ? r.streak : ''));
    }));
  }

  // ---- heartbeat and latency
  async function refreshHeartbeat() {
    const to = Date.now();
    const from = to - DAY;
    hb = { data: await API.heartbeat(id, from), from, to };
    drawBeats();
  }

  function drawBeats() {
    if (!hb) return;
    const { data, from, to } = hb;
    const by = new Map(data.checks.map((c) => [c.check_type, c]));
    if (!beats.childElementCount) {
      for (const k of CHECKS) {
        beats.append(h('div.beat', null, h('span.beat-label', null, k),
          h('canvas.heartbeat', { dataset: { check: k }, 'aria-label': `${k} checks over the last 24 hours` })));
      }
    }
    let n = 0;
    for (const cv of beats.querySelectorAll('canvas')) n += drawHeartbeat(cv, by.get(cv.dataset.check), from, to);
    const points = drawLatency(latency, data.latency, from, to);
    heartbeatInfo.textContent = `${n} checks and ${points} latency samples since ${fmtTime(from)}` +
      (data.fallback ? ' (from /logs and /latency: at most 10,000 of each)' : '');
  }

  // ---- pictures: reference, latest frame, evidence of the vision alerts
  function figure(kind, src, caption, extra = {}) {
    const img = h(`img.${kind}`, { src, alt: caption, decoding: 'async', width: 320, height: 180, ...extra });
    const fig = h(`figure.pic.pic-${kind}`, null, img, h('figcaption', null, caption));
    img.addEventListener('error', () => { fig.classList.add('missing'); img.replaceWith(h('span.nopic', null, 'no picture')); });
    return fig;
  }

  async function refreshPictures(alertRows) {
    const list = await API.pictures(id);
    const snap = list.find((p) => p.kind === 'snapshot');
    // a new latest frame changes that picture only
    const key = JSON.stringify([Boolean(snap), alertRows && alertRows.map((a) => [a.id, a.status]),
      list.filter((p) => p.kind !== 'snapshot')]);
    const img = pics.querySelector('img.snapshot');
    if (key === lastPicturesKey) {
      if (snap && img) {
        const src = `/health/camera/${id}/snapshot?v=${Date.parse(snap.taken_at)}`;
        if (img.getAttribute('src') !== src) {
          img.src = src;
          img.nextElementSibling.textContent = `latest frame, ${fmtTime(snap.taken_at)}`;
        }
      }
      return;
    }
    lastPicturesKey = key;
    const ref = list.filter((p) => p.kind === 'reference');
    const evidence = list.filter((p) => p.kind === 'evidence').sort((a, b) => b.alert_id - a.alert_id).slice(0, 6);
    const byAlert = new Map((alertRows || []).map((a) => [a.id, a]));
    const figs = [];
    if (ref.length) {
      for (const r of ref) {
        figs.push(figure('reference', `/health/camera/${id}/reference${r.mode ? `?mode=${encodeURIComponent(r.mode)}` : ''}`,
          `reference${r.mode ? ` (${r.mode})` : ''}, ${fmtTime(r.taken_at)}`));
      }
    } else {
      figs.push(h('figure.pic.missing', null, h('span.nopic', null, 'no reference yet'), h('figcaption', null, 'reference')));
    }
    figs.push(snap ? figure('snapshot', `/health/camera/${id}/snapshot?v=${Date.parse(snap.taken_at)}`, `latest frame, ${fmtTime(snap.taken_at)}`)
      : h('figure.pic.missing', null, h('span.nopic', null, 'no frame yet'), h('figcaption', null, 'latest frame')));
    for (const e of evidence) {
      const a = byAlert.get(e.alert_id);
      figs.push(figure('evidence', `/health/camera/${id}/alerts/${e.alert_id}/evidence`,
        `evidence of alert ${e.alert_id}${a ? ` (${a.alert_type}, ${a.status})` : ''}, ${fmtTime(e.taken_at)}`,
        { dataset: { alertId: e.alert_id } }));
    }
    clear(pics, figs);
  }

  // ---- alert history
  function alertRow(a) {
    const ack = canWrite && a.status === 'open'
      ? h('button.act', { type: 'button', dataset: { action: 'acknowledge', alertId: a.id },
        onclick: async (ev) => {
          const r = await act(ev.currentTarget, () => API.acknowledge(id, a.id), `alert ${a.id} acknowledged`);
          if (r) { lastAlertsKey = ''; refreshAlerts(); }
        } }, 'Acknowledge')
      : null;
    return h(`tr.alert.sev-${a.severity}`, { dataset: { alertId: a.id, alertType: a.alert_type, status: a.status } },
      h('td', { title: fmtTime(a.created_at) }, fmtAgo(a.created_at)),
      h('td', null, a.alert_type, VISION_ALERTS.has(a.alert_type) ? h('span.muted', null, ' (vision)') : null),
      h('td', null, h('span.sev', null, a.severity)), h('td', null, h(`span.ack.${a.status}`, null, a.status)),
      h('td.msg', null, a.message), h('td', { title: fmtTime(a.last_seen_at) }, fmtAgo(a.last_seen_at)),
      h('td', null, a.resolved_at ? fmtTime(a.resolved_at) : ''), h('td', null, ack));
  }

  async function refreshAlerts() {
    const rows = await API.cameraAlerts(id, 50);
    // drawn again when an alert comes or changes (and every 30 s for the
    // "ago"s), not under the operator's pointer at every poll
    const key = JSON.stringify([Math.floor(Date.now() / 30000), rows.map((a) => [a.id, a.status])]);
    if (key !== lastAlertsKey) {
      lastAlertsKey = key;
      alertsChanged = true;
      clear(alertsBody, rows.length ? rows.map(alertRow) : h('tr', null, h('td.muted', { colSpan: 8 }, 'no alerts')));
    }
    return rows;
  }

  // ---- maintenance and retention
  async function refreshWindows() {
    const ws = (await API.maintenanceWindows()).filter((w) => !cam || API.covers(w, cam));
    clear(windows, ws.length ? ws.map((w) => windowRow(w, canWrite, refreshWindows))
      : h('li.muted', null, 'no maintenance window now or planned'));
  }

  async function refreshRetention() {
    const r = await API.logRetention(id);
    clear(retention.querySelector('.value'), `history kept for ${r.retention}`,
      h('span.muted', null, r.updated_at ? ` (set ${fmtTime(r.updated_at)})` : ' (the default)'));
  }

  // ---- start and live
  (async () => {
    try {
      renderCamera(await API.camera(id));
    } catch (e) {
      clear(main, h('p.back', null, h('a', { href: '#/' }, '← fleet')),
        h('div.notice.n-error', { role: 'alert' }, errorText(e)));
      return;
    }
    if (ctx.stopped()) return;
    refreshWindows().catch((e) => notice(errorText(e), 'error'));
    refreshRetention().catch((e) => notice(errorText(e), 'error'));
    ctx.every(30000, refreshHeartbeat);
    ctx.every(POLL_MS, async () => {
      polls++;
      const [, rows] = await Promise.all([refreshStatus(), refreshAlerts()]);
      // a new vision alert brings its evidence: the pictures follow the alerts
      if (polls === 1 || polls % 4 === 0 || alertsChanged) await refreshPictures(rows);
      alertsChanged = false;
      if (!ctx.stopped()) main.dataset.polls = String(polls);
    });
  })();

  const onResize = () => drawBeats();
  window.addEventListener('resize', onResize);
  return { stop() { window.removeEventListener('resize', onResize); } };
}
