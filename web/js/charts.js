// The camera page's two drawings on <canvas>: a heartbeat bar per check
// (one mark per check over the last 24 hours, coloured by its status) and
// a latency chart (round trips of the ip and port checks).

const COLOURS = { o: '#2f9e44', w: '#f08c00', c: '#e03131', e: '#868e96' };
// failures are drawn last, so that one among thousands of ok marks shows
const ORDER = ['o', 'e', 'w', 'c'];
const SERIES = { ip: '#1c7ed6', port: '#7048e8' };

function sized(canvas, cssHeight) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(100, Math.floor(canvas.clientWidth || canvas.parentElement.clientWidth || 600));
  canvas.width = Math.floor(w * dpr);
  canvas.height = Math.floor(cssHeight * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, hgt: cssHeight };
}

function hourTicks(ctx, x0, w, y, from, to) {
  ctx.fillStyle = '#868e96';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textBaseline = 'top';
  const hour = 3600e3;
  const step = w < 400 ? 6 * hour : 3 * hour;
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    const x = x0 + ((t - from) / (to - from)) * w;
    const d = new Date(t);
    const label = `${String(d.getHours()).padStart(2, '0')}:00`;
    ctx.fillRect(x, y - 3, 1, 3);
    ctx.fillText(label, Math.min(Math.max(x - 14, x0), x0 + w - 28), y + 1);
  }
}

// check: {check_type, at_ms: [...], status: "oowc..."}; returns the marks drawn
export function drawHeartbeat(canvas, check, from, to) {
  const { ctx, w } = sized(canvas, 34);
  const bar = 20;
  ctx.clearRect(0, 0, w, 34);
  ctx.fillStyle = '#f1f3f5';
  ctx.fillRect(0, 0, w, bar);
  const at = check ? check.at_ms : [];
  const st = check ? check.status : '';
  const span = to - from;
  const markW = Math.max(1, Math.min(4, w / Math.max(at.length, 1)));
  let drawn = 0;
  const counts = { o: 0, w: 0, c: 0, e: 0 };
  for (const s of ORDER) {
    ctx.fillStyle = COLOURS[s];
    for (let i = 0; i < at.length; i++) {
      if (st[i] !== s) continue;
      const t = at[i];
      if (t < from || t > to) continue;
      ctx.fillRect(((t - from) / span) * (w - markW), 0, markW, bar);
      drawn++;
      counts[s]++;
    }
  }
  hourTicks(ctx, 0, w, bar + 3, from, to);
  canvas.dataset.marks = String(drawn);
  canvas.title = `${drawn} checks in the last 24 h: ${counts.o} ok, ${counts.w} warning, ${counts.c} critical, ${counts.e} error`;
  return drawn;
}

// latency: {ip: {at_ms, ms}, port: {at_ms, ms}}; returns the points drawn
export function drawLatency(canvas, latency, from, to) {
  const H = 140;
  const { ctx, w } = sized(canvas, H);
  ctx.clearRect(0, 0, w, H);
  const left = 44, right = 8, top = 8, bottom = 18;
  const pw = w - left - right, ph = H - top - bottom;
  let max = 0;
  for (const s of Object.values(latency)) for (const v of s.ms) if (v > max) max = v;
  max = max > 0 ? niceCeil(max) : 1;
  ctx.strokeStyle = '#dee2e6';
  ctx.fillStyle = '#868e96';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const y = top + ph - (i / 4) * ph;
    ctx.beginPath();
    ctx.moveTo(left, y + 0.5);
    ctx.lineTo(left + pw, y + 0.5);
    ctx.stroke();
    ctx.fillText(`${fmtMs((max * i) / 4)}`, 2, y);
  }
  hourTicks(ctx, left, pw, top + ph + 3, from, to);
  let points = 0;
  for (const [type, s] of Object.entries(latency)) {
    ctx.strokeStyle = SERIES[type] || '#495057';
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    let started = false;
    for (let i = 0; i < s.at_ms.length; i++) {
      const t = s.at_ms[i];
      if (t < from || t > to) continue;
      const x = left + ((t - from) / (to - from)) * pw;
      const y = top + ph - (Math.min(s.ms[i], max) / max) * ph;
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      points++;
    }
    ctx.stroke();
  }
  canvas.dataset.points = String(points);
  return points;
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmtMs(v) {
  return v >= 100 ? `${Math.round(v)} ms` : `${Number(v.toFixed(2))} ms`;
}
