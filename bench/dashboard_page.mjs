// The fleet page's time to usable, in Debian's Chromium driven by
// playwright-core (run by bench/dashboard.sh, which starts the stack).
// Each run opens /dashboard/ in a fresh browser context (an empty cache, no
// session) and times, from navigation start (performance.timeOrigin), the
// first frame in which
//   - every count equals health_summary()'s (DASH_WANT, "healthy=N ..."),
//   - the wall holds DASH_TILES tiles (its first page),
//   - the open alerts list holds DASH_ALERTS alerts (its first page);
// a MutationObserver installed before the page's own scripts sees the DOM
// change, the time is taken in the next requestAnimationFrame (the frame
// that paints it).  Also per run, from Resource Timing: when the static
// files (HTML, CSS, JavaScript) were in, and when the API's answers were.
// Then, on the usable page, whether it stays responsive: the time from
// scrolling to the wall's end until the next page of tiles is painted
// (DASH_TILES more), from typing DASH_SEARCH into the wall's search until
// the wall holds only its DASH_SEARCH_TILES matches (250 ms of it the
// page's debounce), and the main thread's long tasks (over 50 ms: the
// longest, and the total blocking time, the sum of each one's part over
// 50 ms) from navigation start to the end of both.
// One warm-up run, then DASH_RUNS; prints each run and p50/p99 on stdout.
//
// Environment: DASH_BASE (nginx), DASH_WRITER (a writer's token),
// DASH_WANT, DASH_TILES, DASH_ALERTS, DASH_SEARCH, DASH_SEARCH_TILES,
// DASH_RUNS, CHROMIUM, DASH_TARGET_MS (1500); DASH_TASKS=1 also prints each
// run's long tasks (start and duration, ms from navigation start).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');

const env = process.env;
const runs = Number(env.DASH_RUNS || 10);
const target = Number(env.DASH_TARGET_MS || 1500);
const want = Object.fromEntries(env.DASH_WANT.split(' ').map((kv) => kv.split('=')));
const tiles = Number(env.DASH_TILES);
const alerts = Number(env.DASH_ALERTS);
const search = env.DASH_SEARCH;
const searchTiles = Number(env.DASH_SEARCH_TILES);

// percentile_cont: P between 0 and 1, interpolated
function pct(xs, p) {
  const a = [...xs].sort((x, y) => x - y);
  const r = p * (a.length - 1);
  const i = Math.floor(r);
  return i + 1 < a.length ? a[i] + (r - i) * (a[i + 1] - a[i]) : a[i];
}

// in the page, before its scripts
function watch({ want, tiles, alerts }) {
  const usable = () => {
    for (const [k, v] of Object.entries(want)) {
      const n = document.querySelector(`[data-count="${k}"] .n`);
      if (!n || n.dataset.value !== v) return false;
    }
    return document.querySelectorAll('#wall .tile').length >= tiles &&
      document.querySelectorAll('#open-alerts li.alert').length >= alerts;
  };
  const mo = new MutationObserver(() => {
    if (!usable()) return;
    mo.disconnect();
    const dom = performance.now();
    requestAnimationFrame(() => { window.__usable = { dom, frame: performance.now() }; });
  });
  mo.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
  window.__long = [];
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); })
    .observe({ type: 'longtask', buffered: true });
}

// in the page: does ACT, then resolves with the ms until the frame in which
// the wall is as WANT says: {tiles: at least that many loaded} or
// {only: that many tiles, each holding the text}
function timeTo({ act, want }) {
  return new Promise((resolve, reject) => {
    const wall = () => [...document.querySelectorAll('#wall .tile')];
    const done = () => (want.tiles ? Number(document.getElementById('wall').dataset.loaded) >= want.tiles
      : wall().length === want.only && wall().every((t) => t.textContent.toLowerCase().includes(want.text)));
    const t0 = performance.now();
    if (act.scroll) window.scrollTo(0, document.body.scrollHeight);
    if (act.search !== undefined) {
      const i = document.querySelector('input[data-filter="search"]');
      i.value = act.search;
      i.dispatchEvent(new Event('input', { bubbles: true }));
    }
    const tick = () => {
      if (done()) { resolve(performance.now() - t0); return; }
      if (performance.now() - t0 > 20000) { reject(new Error(`not within 20 s: ${JSON.stringify(want)}`)); return; }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--disable-dev-shm-usage', ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [])],
});

async function once() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  try {
    await context.addInitScript(watch, { want, tiles, alerts });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`uncaught ${e.message}`));
    await page.goto(`${env.DASH_BASE}/dashboard/#token=${env.DASH_WRITER}`, { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__usable, null, { timeout: 30000, polling: 50 }).catch(async () => {
      const shown = await page.evaluate(() => ({
        counts: [...document.querySelectorAll('[data-count]')].map((c) => `${c.dataset.count}=${c.querySelector('.n').dataset.value}`).join(' '),
        tiles: document.querySelectorAll('#wall .tile').length,
        alerts: document.querySelectorAll('#open-alerts li.alert').length,
      })).catch(() => ({}));
      throw new Error(`not usable within 30 s: ${JSON.stringify(shown)} ${problems.join('; ')}`);
    });
    // what was fetched by the time it was usable, before the page is scrolled
    const loaded = await page.evaluate(() => {
      const res = performance.getEntriesByType('resource');
      const end = (re) => Math.max(0, ...res.filter((e) => re.test(new URL(e.name).pathname)).map((e) => e.responseEnd));
      const first = (re) => res.find((e) => re.test(new URL(e.name).pathname));
      const nav = performance.getEntriesByType('navigation')[0];
      const api = ['summary', 'board', 'alerts'].map((k) => first(new RegExp(`^/health/${k}$`)));
      return {
        usable: window.__usable.frame,
        dom: window.__usable.dom,
        html: nav ? nav.responseEnd : 0,
        files: Math.max(nav ? nav.responseEnd : 0, end(/^\/dashboard\/.*\.(js|css)$/)),
        data: Math.max(...api.map((e) => (e ? e.responseEnd : NaN))),
        apiMs: api.map((e) => (e ? e.responseEnd - e.startTime : NaN)),
        requests: res.filter((e) => e.responseEnd <= window.__usable.frame).length + 1,
        pictures: res.filter((e) => /\/snapshot$/.test(new URL(e.name).pathname) && e.responseEnd <= window.__usable.frame).length,
      };
    });
    const scroll = await page.evaluate(timeTo, { act: { scroll: true }, want: { tiles: 2 * tiles } });
    const found = await page.evaluate(timeTo, { act: { search }, want: { only: searchTiles, text: search.toLowerCase() } });
    const tasks = await page.evaluate(() => window.__long);
    return {
      ...loaded,
      scroll,
      search: found,
      longest: Math.max(0, ...tasks.map((x) => x[1])),
      tasks: tasks.map(([t, d]) => `${t.toFixed(0)}+${d.toFixed(0)}`).join(' '),
      blocking: tasks.reduce((t, [, d]) => t + Math.max(0, d - 50), 0),
    };
  } finally {
    await context.close();
  }
}

const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
try {
  const warm = await once();
  console.log(`warm-up (not counted): usable at ${f(warm.usable)} ms`);
  console.log(`${'run'.padEnd(5)}${'usable ms'.padStart(10)}${'DOM ms'.padStart(8)}${'files in'.padStart(10)}` +
    `${'data in'.padStart(9)}${'summary'.padStart(9)}${'board'.padStart(7)}${'alerts'.padStart(8)}${'requests'.padStart(10)}` +
    `${'pictures'.padStart(10)}${'scroll'.padStart(8)}${'search'.padStart(8)}${'longest'.padStart(9)}${'TBT'.padStart(6)}`);
  console.log('(requests, pictures: fetched by then; summary, board, alerts: each call\'s time in the page; ' +
    'scroll, search: ms until painted; longest task, TBT: ms, until the end of both)');
  const all = [];
  for (let i = 1; i <= runs; i++) {
    const r = await once();
    all.push(r);
    console.log(`${String(i).padEnd(5)}${f(r.usable).padStart(10)}${f(r.dom).padStart(8)}${f(r.files).padStart(10)}` +
      `${f(r.data).padStart(9)}${f(r.apiMs[0]).padStart(9)}${f(r.apiMs[1]).padStart(7)}${f(r.apiMs[2]).padStart(8)}` +
      `${String(r.requests).padStart(10)}${String(r.pictures).padStart(10)}${f(r.scroll).padStart(8)}${f(r.search).padStart(8)}` +
      `${f(r.longest).padStart(9)}${f(r.blocking).padStart(6)}`);
    if (env.DASH_TASKS) console.log(`  long tasks (start+ms): ${r.tasks}; usable at ${f(r.usable)}`);
  }
  const col = (k) => all.map((r) => r[k]);
  const line = (label, xs) => console.log(`${label.padEnd(44)}${pct(xs, 0.5).toFixed(1).padStart(9)}${pct(xs, 0.99).toFixed(1).padStart(9)}`);
  console.log(`${'fleet page, ms from navigation start'.padEnd(44)}${'p50'.padStart(9)}${'p99'.padStart(9)}`);
  line('static files in (HTML, CSS, JavaScript)', col('files'));
  line('API answers in (summary, board, alerts)', col('data'));
  line('usable (counts, tiles, alerts painted)', col('usable'));
  console.log(`${'then, on the usable page'.padEnd(44)}${'p50'.padStart(9)}${'p99'.padStart(9)}`);
  line(`scroll to the end: ${tiles} tiles more painted`, col('scroll'));
  line(`search "${search}": ${searchTiles} tiles (250 ms debounce)`, col('search'));
  line('longest main-thread task, ms', col('longest'));
  line('total blocking time (tasks beyond 50 ms)', col('blocking'));
  const p50 = pct(col('usable'), 0.5);
  const p99 = pct(col('usable'), 0.99);
  console.log(`target: usable under ${target} ms: p50 ${p50 < target ? 'met' : 'NOT met'}, p99 ${p99 < target ? 'met' : 'NOT met'}`);
  await browser.close();
  process.exit(0);
} catch (e) {
  process.stderr.write(`dashboard_page: ${e.message}\n`);
  await browser.close().catch(() => {});
  process.exit(1);
}
