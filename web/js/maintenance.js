// Maintenance windows: a row per window (End, for writers) and the form
// that starts one now (writers only: readers get neither).

import * as API from './api.js';
import { h, fmtTime } from './util.js';
import { act } from './ui.js';

const DURATIONS = [['30 min', 30], ['1 hour', 60], ['2 hours', 120], ['4 hours', 240], ['8 hours', 480]];

function scopeOf(w) {
  if (w.camera_id != null) return `camera ${w.camera_id}${w.site ? ` at ${w.site}` : ''}`;
  if (w.site != null) return `site ${w.site}`;
  return 'the whole fleet';
}

export function windowRow(w, canWrite, onChange) {
  const now = Date.now();
  const running = new Date(w.starts_at).getTime() <= now && new Date(w.ends_at).getTime() > now;
  const end = canWrite && new Date(w.ends_at).getTime() > now
    ? h('button.act', { type: 'button', dataset: { action: 'end-maintenance', windowId: w.id },
      onclick: async (ev) => {
        const r = await act(ev.currentTarget, () => API.endMaintenance(w.id), `maintenance window ${w.id} ended`);
        if (r) onChange();
      } }, 'End')
    : null;
  return h('li.window', { dataset: { windowId: w.id, running: String(running) } },
    h('strong', null, scopeOf(w)), ' ',
    h('span.muted', null, `${fmtTime(w.starts_at)} – ${fmtTime(w.ends_at)}`),
    w.reason ? h('span.reason', null, ` ${w.reason}`) : null,
    running ? h('span.chip', null, 'now') : h('span.chip', null, 'planned'),
    end);
}

// scope 'camera' (cameraId) or 'fleet' (a site from the list, or the whole fleet)
export function maintenanceForm({ scope, cameraId, sites = [], onDone }) {
  const dur = h('select', { 'aria-label': 'duration', dataset: { action: 'maintenance-duration' } },
    DURATIONS.map(([l, m]) => h('option', { value: m }, l)));
  const reason = h('input', { type: 'text', placeholder: 'reason', maxLength: 200, 'aria-label': 'reason',
    dataset: { action: 'maintenance-reason' } });
  const site = scope === 'fleet'
    ? h('input', { type: 'text', placeholder: 'site (empty: whole fleet)', 'aria-label': 'site', list: 'maint-sites',
      dataset: { action: 'maintenance-site' } })
    : null;
  const datalist = scope === 'fleet' ? h('datalist', { id: 'maint-sites' }, sites.map((s) => h('option', { value: s }))) : null;
  const button = h('button.act', { type: 'submit', dataset: { action: 'start-maintenance' } }, 'Start maintenance');
  const form = h('form.maint-form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const start = new Date();
      const body = {
        starts_at: start.toISOString(),
        ends_at: new Date(start.getTime() + Number(dur.value) * 60000).toISOString(),
      };
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (scope === 'camera') body.camera_id = cameraId;
      else if (site.value.trim()) body.site = site.value.trim();
      const r = await act(button, () => API.addMaintenance(body), (w) => `maintenance window ${w.id} started`);
      if (r) { reason.value = ''; onDone(r); }
    },
  }, site, datalist, dur, reason, button);
  return form;
}
