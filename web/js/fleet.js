// The fleet: counts (GET /health/summary), sites, the open alerts with
// filters, current maintenance windows, and the wall of cameras (GET
// /health/board, 200 at a time as the operator scrolls; pictures lazy).

import * as API from './api.js';
import { h, clear, fmtTime, fmtAgo, debounce, statusBadge, healthBadge, cameraLabel, ALERT_TYPES, CHECKS } from './util.js';
import { POLL_MS, notice, errorText, act } from './ui.js';
import { maintenanceForm, windowRow } from './maintenance.js';

const PAGE = 200;
const COUNTS = [
  ['healthy', 'healthy'], ['unhealthy', 'unhealthy'], ['unknown', 'unknown'], ['maintenance', 'in maintenance'],
  ['disabled', 'disabled'], ['cameras', 'cameras'], ['open_alerts', 'open alerts'],
];
// health_summary()'s uptime: availability (ip), maintenance excluded
const UPTIME = [['last_24h', 'uptime 24 h'], ['last_30d', 'uptime 30 days']];

// a fraction as a percentage, rounded down: 99.996 % is not yet 100 %
function pct(v) {
  if (v === null || v === undefined) return '—';
  return v >= 1 ? '100 %' : `${(Math.floor(v * 10000) / 100).toFixed(2)} %`;
}

// notifications tell a channel about the alerts of one site together
// (open_alerts' group_key); the views of an older server have no key
const groupKey = (a) => a.group_key ?? `site:${a.site ?? ''}`;

export function fleetPage(main, ctx) {
  const canWrite = ctx.session.canWrite;
  const filters = { site: '', alert_type: '', severity: '' };
  const wall = { search: '', site: '', status: '', lastId: null, more: true, loading: false, shown: 0, gen: 0 };
  let alertsByCamera = new Map();
  let polls = 0;

  // ---- layout
  const counts = h('section.counts', { 'aria-label': 'fleet counts' },
    COUNTS.map(([k, label]) => h('div.count', { dataset: { count: k } },
      h('span.n', { dataset: { value: '' } }, '…'), h('span.label', null, label))));
  const uptime = h('section.counts.uptime', { 'aria-label': 'fleet uptime' },
    UPTIME.map(([k, label]) => h('div.count', { dataset: { uptime: k } },
      h('span.n', { dataset: { value: '' } }, '…'), h('span.label', null, label), h('span.stream.muted.small'))));
  const summaryAt = h('p.muted.small');
  const sitesBody = h('tbody');
  const sites = h('section.card.sites', null, h('h2', null, 'Sites'),
    h('table.grid', null, h('thead', null, h('tr', null,
      // short headings, the long ones as titles: the eight columns fit the side column
      [['site'], ['cams', 'cameras'], ['ok', 'healthy'], ['failing', 'unhealthy'], ['?', 'unknown (not checked yet)'],
        ['alerts', 'open alerts'], ['24 h', 'uptime over the last 24 hours'], ['30 d', 'uptime over the last 30 days']]
        .map(([c, title]) => h('th', { title }, c)))), sitesBody));

  const siteSel = h('select', { 'aria-label': 'site', dataset: { filter: 'site' } }, h('option', { value: '' }, 'all sites'));
  const typeSel = h('select', { 'aria-label': 'alert type', dataset: { filter: 'alert_type' } },
    h('option', { value: '' }, 'all types'), ALERT_TYPES.map((t) => h('option', { value: t }, t)));
  const sevSel = h('select', { 'aria-label': 'severity', dataset: { filter: 'severity' } },
    h('option', { value: '' }, 'all severities'), h('option', { value: 'critical' }, 'critical'),
    h('option', { value: 'warning' }, 'warning'));
  const alertList = h('ul.alerts', { id: 'open-alerts' });
  const alertsSection = h('section.card.alerts-card', null,
    h('h2', null, 'Open alerts ', h('span.muted.small', null, 'newest first, by site as notified')),
    h('div.filters', null, siteSel, typeSel, sevSel), alertList);

  const windowsList = h('ul.windows');
  const maintSection = h('section.card.maint', null, h('h2', null, 'Maintenance now'), windowsList,
    canWrite ? maintenanceForm({ scope: 'fleet', onDone: () => refreshWindows() }) : null);

  const search = h('input.search', { type: 'search', placeholder: 'search name, address, site, tag',
    'aria-label': 'search cameras', dataset: { filter: 'search' } });
  const wallSite = h('select', { 'aria-label': 'wall site', dataset: { filter: 'wall-site' } }, h('option', { value: '' }, 'all sites'));
  const wallStatus = h('select', { 'aria-label': 'health', dataset: { filter: 'status' } },
    h('option', { value: '' }, 'any health'),
    ['healthy', 'unhealthy', 'unknown', 'maintenance', 'disabled'].map((s) => h('option', { value: s }, s)));
  const grid = h('div.wall', { id: 'wall' });
  const wallInfo = h('p.muted.small.wall-info');
  const more = h('button.more', { type: 'button', dataset: { nav: 'more' }, onclick: () => loadMore() }, 'load more');
  const sentinel = h('div.sentinel');
  const wallSection = h('section.card.wall-card', null, h('h2', null, 'Cameras'),
    h('div.filters', null, search, wallSite, wallStatus), grid, wallInfo, more, sentinel);

  clear(main, h('h1', null, 'Fleet'), counts, uptime, summaryAt,
    h('div.columns', null, h('div.col-main', null, alertsSection), h('div.col-side', null, sites, maintSection)),
    wallSection);

  // ---- counts and sites
  function setCount(k, v) {
    const n = counts.querySelector(`[data-count="${k}"] .n`);
    n.textContent = v === null || v === undefined ? '—' : String(v);
    n.dataset.value = v === null || v === undefined ? '' : String(v);
  }

  function fillSites(sel, list) {
    const cur = sel.value;
    const have = [...sel.options].slice(1).map((o) => o.value).join('\n');
    const want = list.filter((s) => s.site !== null).map((s) => s.site);
    if (have === want.join('\n')) return;
    clear(sel, h('option', { value: '' }, 'all sites'), want.map((s) => h('option', { value: s }, s)));
    sel.value = want.includes(cur) ? cur : '';
  }

  async function refreshSummary() {
    const s = await API.summary();
    for (const k of ['healthy', 'unhealthy', 'unknown', 'disabled', 'cameras']) setCount(k, s[k]);
    setCount('open_alerts', s.open_alerts ? s.open_alerts.total : null);
    try {
      setCount('maintenance', await API.maintenanceCount(s));
    } catch (e) {
      setCount('maintenance', null);
    }
    for (const [k] of UPTIME) {
      const u = s.uptime ? s.uptime[k] : null;
      const box = uptime.querySelector(`[data-uptime="${k}"]`);
      const n = box.querySelector('.n');
      n.textContent = pct(u ? u.availability : null);
      n.dataset.value = u && u.availability !== null ? String(u.availability) : '';
      box.querySelector('.stream').textContent = u && u.stream_availability !== null
        ? `stream ${pct(u.stream_availability)}` : '';
    }
    const siteUptime = (k, site) => {
      const l = s.uptime && s.uptime[k] ? s.uptime[k].sites || [] : [];
      const u = l.find((x) => x.site === site);
      return pct(u ? u.availability : null);
    };
    openBySite = new Map((s.sites || []).map((st) => [`site:${st.site ?? ''}`, st.open_alerts]));
    counts.dataset.generatedAt = s.generated_at;
    summaryAt.textContent = `as of ${fmtTime(s.generated_at)}`;
    clear(sitesBody, (s.sites || []).map((st) => h('tr', { dataset: { site: st.site ?? '' } },
      h('td', null, st.site ?? '(no site)'), h('td', null, st.cameras), h('td', null, st.healthy),
      h('td', null, st.unhealthy), h('td', null, st.unknown), h('td', null, st.open_alerts),
      h('td.uptime', null, siteUptime('last_24h', st.site ?? null)),
      h('td.uptime', null, siteUptime('last_30d', st.site ?? null)))));
    fillSites(siteSel, s.sites || []);
    fillSites(wallSite, s.sites || []);
  }

  // ---- open alerts
  function alertRow(a) {
    const ackBtn = canWrite && a.status === 'open'
      ? h('button.act', { type: 'button', dataset: { action: 'acknowledge', alertId: a.id },
        onclick: async (ev) => {
          const r = await act(ev.currentTarget, () => API.acknowledge(a.camera_id, a.id), `alert ${a.id} acknowledged`);
          if (r) { alertsKey = ''; refreshAlerts(); }
        } }, 'Acknowledge')
      : null;
    return h(`li.alert.sev-${a.severity}`, { dataset: { alertId: a.id, cameraId: a.camera_id, alertType: a.alert_type,
      status: a.status, groupKey: groupKey(a) } },
      h('span.sev', null, a.severity),
      h('span.type', null, a.alert_type),
      h('a.cam', { href: `#/camera/${a.camera_id}` }, a.camera_name || `camera ${a.camera_id}`),
      a.site ? h('span.site', null, a.site) : null,
      h('span.msg', null, a.message),
      h('span.when', { title: fmtTime(a.created_at) }, fmtAgo(a.created_at)),
      h(`span.ack.${a.status}`, null, a.status === 'acknowledged' ? 'acknowledged' : 'open'),
      ackBtn);
  }

  // the alerts of a page in groups, a group where its newest alert stands;
  // the summary says how many the whole group holds
  let openBySite = new Map();
  function alertGroups(rows) {
    const groups = new Map();
    for (const a of rows) {
      const k = groupKey(a);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(a);
    }
    return [...groups].map(([k, list]) => {
      const total = openBySite.get(k);
      const site = k.slice('site:'.length);
      return h('li.group', { dataset: { groupKey: k } },
        h('div.group-head', null, h('strong', null, site || '(no site)'), ' ',
          h('span.muted.small', null, total > list.length ? `${list.length} of ${total} open` : `${list.length} open`)),
        h('ul.alerts', null, list.map(alertRow)));
    });
  }

  let alertsKey = '';
  async function refreshAlerts() {
    const rows = await API.openAlerts({ ...filters, max_rows: 50 });
    // drawn again when an alert comes, changes or goes (and every 30 s for
    // the "ago"s), so that a button is not replaced under the pointer
    const key = JSON.stringify([Math.floor(Date.now() / 30000), filters, rows.map((a) => [a.id, a.status, groupKey(a)]),
      [...openBySite]]);
    if (key !== alertsKey) {
      alertsKey = key;
      clear(alertList, rows.length ? alertGroups(rows) : h('li.muted', null, 'no open alerts'));
    }
    // the first page of the fleet's open alerts, by camera, for the tiles:
    // only the tiles whose alerts changed are painted again
    if (!filters.site && !filters.alert_type && !filters.severity) {
      const next = new Map();
      for (const a of rows) {
        if (!next.has(a.camera_id)) next.set(a.camera_id, []);
        next.get(a.camera_id).push(a);
      }
      const sig = (l) => (l || []).map((a) => `${a.id}:${a.severity}:${a.alert_type}`).join(',');
      const changed = [...new Set([...next.keys(), ...alertsByCamera.keys()])]
        .filter((id) => sig(next.get(id)) !== sig(alertsByCamera.get(id)));
      alertsByCamera = next;
      for (const id of changed) {
        const t = grid.querySelector(`.tile[data-camera-id="${id}"]`);
        if (t) paintTileAlerts(t);
      }
    }
  }

  for (const [sel, key] of [[siteSel, 'site'], [typeSel, 'alert_type'], [sevSel, 'severity']]) {
    sel.addEventListener('change', () => {
      filters[key] = sel.value;
      refreshAlerts().catch((e) => notice(errorText(e), 'error'));
    });
  }

  // ---- maintenance
  async function refreshWindows() {
    const ws = await API.currentWindows().catch((e) => { notice(errorText(e), 'error'); return []; });
    clear(windowsList, ws.length ? ws.map((w) => windowRow(w, canWrite, () => { refreshWindows(); refreshSummary(); }))
      : h('li.muted', null, 'none'));
  }

  // ---- the wall
  function tile(c) {
    // the board says when the latest picture was taken (null: there is none);
    // without the board (undefined) the picture is tried
    const thumb = h('div.thumb');
    if (c.snapshot_at === null) {
      thumb.append(h('span.nopic', null, 'no picture'));
    } else {
      const v = c.snapshot_at ? `?v=${Date.parse(c.snapshot_at)}` : '';
      const img = h('img.snapshot', { loading: 'lazy', decoding: 'async', alt: `latest frame of ${cameraLabel(c)}`,
        src: `/health/camera/${c.id}/snapshot${v}`, width: 320, height: 180 });
      img.addEventListener('error', () => { img.replaceWith(h('span.nopic', null, 'no picture')); });
      thumb.append(img);
    }
    const t = h('a.tile', { href: `#/camera/${c.id}`, dataset: { cameraId: c.id, health: c.health } },
      thumb,
      h('div.tile-head', null, h('strong.name', null, cameraLabel(c)), healthBadge(c.health)),
      h('div.tile-meta', null, h('span.site', null, c.site ?? ''), ' ', h('span.addr', null, c.ip_address)),
      h('div.badges', null, CHECKS.map((k) => statusBadge(k, c[`${k}_status`], c[`${k}_since`]))),
      h('div.tile-alerts'));
    t.board = c;
    paintTileAlerts(t);
    return t;
  }

  function paintTileAlerts(t) {
    const box = t.querySelector('.tile-alerts');
    const id = Number(t.dataset.cameraId);
    const known = alertsByCamera.get(id) || [];
    const n = Math.max(t.board.open_alerts || 0, known.length);
    clear(box, known.map((a) => h(`span.chip.sev-${a.severity}`, { dataset: { alertType: a.alert_type, alertId: a.id } },
      a.alert_type)),
    n > known.length ? h('span.chip.more', null, `${n - known.length} more open`) : null);
    t.classList.toggle('alerting', n > 0);
  }

  function updateTile(c) {
    const old = grid.querySelector(`.tile[data-camera-id="${c.id}"]`);
    if (!old) return;
    const prev = old.board;
    if (prev && prev.health === c.health && prev.snapshot_at === c.snapshot_at && prev.open_alerts === c.open_alerts &&
      CHECKS.every((k) => prev[`${k}_status`] === c[`${k}_status`])) return;
    old.replaceWith(tile(c));
  }

  async function loadMore() {
    if (wall.loading || !wall.more) return;
    wall.loading = true;
    const gen = wall.gen;
    try {
      const r = await API.board({ search: wall.search, site: wall.site, status: wall.status, max_rows: PAGE,
        after_id: wall.lastId });
      if (gen !== wall.gen) return;
      grid.append(...r.rows.map(tile));
      wall.shown += r.rows.length;
      wall.lastId = r.last_id ?? wall.lastId;
      wall.more = r.more;
    } catch (e) {
      notice(errorText(e), 'error');
    } finally {
      if (gen === wall.gen) {
        wall.loading = false;
        more.hidden = !wall.more;
        wallInfo.textContent = wall.shown ? `${wall.shown} cameras shown${wall.more ? ', more below' : ''}`
          : wall.more ? '' : 'no camera matches';
        grid.dataset.loaded = String(wall.shown);
        // the observer says so only when the sentinel crosses the margin:
        // still near after this page, the next one comes now
        if (wall.more && nearSentinel()) loadMore();
      }
    }
  }

  function resetWall() {
    wall.gen++;
    Object.assign(wall, { lastId: null, more: true, loading: false, shown: 0 });
    clear(grid);
    loadMore();
  }

  // the first page again, now and then, so that the tiles' badges follow
  async function refreshWallTop() {
    if (!grid.firstChild) return;
    const r = await API.board({ search: wall.search, site: wall.site, status: wall.status, max_rows: PAGE });
    for (const c of r.rows) updateTile(c);
  }

  search.addEventListener('input', debounce(() => { wall.search = search.value.trim(); resetWall(); }, 250));
  wallSite.addEventListener('change', () => { wall.site = wallSite.value; resetWall(); });
  wallStatus.addEventListener('change', () => { wall.status = wallStatus.value; resetWall(); });

  const MARGIN = 800;
  const nearSentinel = () => sentinel.isConnected && sentinel.getBoundingClientRect().top < window.innerHeight + MARGIN;
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: `${MARGIN}px 0px` });
  io.observe(sentinel);

  // ---- live
  refreshWindows();
  resetWall();
  ctx.every(POLL_MS, async () => {
    if (ctx.stopped()) return;
    polls++;
    await Promise.all([refreshSummary(), refreshAlerts()]);
    if (polls % 4 === 0) await Promise.all([refreshWallTop(), refreshWindows()]);
    if (!ctx.stopped()) main.dataset.polls = String(polls);
  });
  return { stop() { io.disconnect(); } };
}
