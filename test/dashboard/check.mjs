// The dashboard in a real browser: Debian's Chromium driven by
// playwright-core (pinned in tools/package.json).  Run by
// test/test_dashboard.sh as a coprocess: what needs the database is asked
// of the shell, one line on stdout ("counts ...", "acknowledged ID", ...),
// answered with one line on stdin.  Diagnostics go to stderr.
//
// Environment: DASH_BASE (nginx), DASH_WRITER, DASH_READER (tokens),
// DASH_OUT (screenshots), DASH_HEALTHY, DASH_COVERED, DASH_PORTCAM (camera
// ids), DASH_ALERT (the covered camera's obstruction alert); DASH_DOCS, a
// directory: the README's pictures of the fleet and camera pages are saved
// there too (dashboard-fleet.jpg, dashboard-camera.jpg).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const { chromium } = require('playwright-core');

const env = process.env;
const base = env.DASH_BASE;
const out = env.DASH_OUT;
const ids = { healthy: Number(env.DASH_HEALTHY), covered: Number(env.DASH_COVERED), port: Number(env.DASH_PORTCAM) };
const alertId = Number(env.DASH_ALERT);
const T0 = Date.now();

function log(msg) {
  process.stderr.write(`  [${((Date.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
}
function fail(msg) {
  throw new Error(msg);
}

// ---- the shell's side: one question, one answer
const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
const answers = [];
lines.on('line', (l) => (waiting.length ? waiting.shift()(l) : answers.push(l)));
lines.on('close', () => { while (waiting.length) waiting.shift()(null); });
function ask(question, timeoutMs = 90000) {
  process.stdout.write(`${question}\n`);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer from the shell to "${question}"`)), timeoutMs);
    const take = (l) => {
      clearTimeout(t);
      if (l === null) reject(new Error(`the shell went away (asked "${question}")`));
      else resolve(l);
    };
    if (answers.length) take(answers.shift());
    else waiting.push(take);
  });
}

// ---- the browser
const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--disable-dev-shm-usage', ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [])],
});
const problems = [];

async function open(token, what) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => problems.push(`${what}: uncaught ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`${what}: ${m.text()}`);
  });
  // every confirm() accepted, its question kept for the checks
  page.on('dialog', (d) => { page.lastDialog = d.message(); d.accept(); });
  const url = `${base}/dashboard/${token ? `#token=${token}` : ''}`;
  const resp = await page.goto(url);
  if (!resp || resp.status() !== 200) fail(`${what}: GET /dashboard/ answered ${resp && resp.status()}`);
  return { context, page };
}

const countsOf = (page) => page.evaluate(() => {
  const o = {};
  for (const k of ['healthy', 'unhealthy', 'unknown', 'maintenance', 'disabled', 'cameras', 'open_alerts']) {
    o[k] = document.querySelector(`[data-count="${k}"] .n`).dataset.value;
  }
  return o;
});

async function waitCounts(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('[data-count] .n')].every((n) => n.dataset.value !== ''));
}

const polls = (page) => page.evaluate(() => Number(document.getElementById('main').dataset.polls || 0));

// Asks the shell `${question} ${what the page shows}` until it answers
// 'equal', the page polling the API again between the questions (the
// database moves on: a check lands between the page's read and the
// shell's); fails after 30 s with both.  readPage(page) returns the text.
async function untilShellAgrees(page, question, readPage, agreed, differs) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const text = await readPage(page);
    const answer = await ask(`${question} ${text}`);
    if (answer === 'equal') { log(agreed(text)); return; }
    if (Date.now() > deadline) fail(differs(text, answer));
    const n = await polls(page);
    await page.waitForFunction((n0) => Number(document.getElementById('main').dataset.polls || 0) > n0, n);
  }
}

// the counts on the page equal health_summary(), as the shell reads it with
// psql; a check may change a count between the two reads: then again after
// the page's next poll
async function compareCounts(page, what) {
  await untilShellAgrees(page, 'counts',
    async (p) => Object.entries(await countsOf(p)).map(([k, v]) => `${k}=${v}`).join(' '),
    (text) => `${what}: the counts equal health_summary(): ${text}`,
    (text, answer) => `${what}: the page shows ${text}, health_summary() says ${answer}`);
}

// the page's uptime over 24 h and 30 days is health_summary()'s (within
// 0.001: the windows move on between the two reads)
async function compareUptime(page) {
  const u = await page.evaluate(() => ['last_24h', 'last_30d']
    .map((k) => document.querySelector(`[data-uptime="${k}"] .n`).dataset.value || 'null'));
  const answer = await ask(`uptime ${u.join(' ')}`);
  if (answer !== 'ok') fail(`the page shows uptime ${u.join(' ')}, health_summary() says ${answer}`);
  const text = await page.evaluate(() => [...document.querySelectorAll('[data-uptime]')]
    .map((b) => `${b.querySelector('.label').textContent} ${b.querySelector('.n').textContent}`).join(', '));
  log(`the uptime equals health_summary()'s: ${text}`);
}

// the open alerts in groups as notifications group them: one group per
// key, every alert in its own key's group, and the same alerts in each as
// the shell finds with alert_group_key(); again after the next poll when
// an alert came or went between the two reads
async function compareGroups(page, must) {
  const readGroups = async (p) => {
    const groups = await p.evaluate(() => [...document.querySelectorAll('#open-alerts li.group')].map((g) => ({
      key: g.dataset.groupKey,
      ids: [...g.querySelectorAll('li.alert')].map((l) => Number(l.dataset.alertId)),
      keys: [...g.querySelectorAll('li.alert')].map((l) => l.dataset.groupKey),
    })));
    for (const g of groups) {
      if (g.keys.some((k) => k !== g.key)) fail(`an alert of another group in group ${g.key}: ${g.keys}`);
    }
    if (new Set(groups.map((g) => g.key)).size !== groups.length) fail(`a group shown twice: ${groups.map((g) => g.key)}`);
    for (const [key, id] of must) {
      if (!groups.some((g) => g.key === key && g.ids.includes(id))) fail(`alert ${id} is not in group ${key}`);
    }
    return groups.map((g) => `${g.key}=${[...g.ids].sort((a, b) => a - b).join(',')}`)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(' ');
  };
  await untilShellAgrees(page, 'groups', readGroups,
    (text) => `the open alerts are grouped as notified: ${text}`,
    (text, answer) => `the page groups the alerts ${text}, alert_group_key() ${answer}`);
}

// an <img> that has loaded a picture
async function imageLoaded(page, selector, what) {
  const img = page.locator(selector).first();
  await img.waitFor({ state: 'attached' });
  await img.scrollIntoViewIfNeeded();
  await page.waitForFunction((sel) => {
    const i = document.querySelector(sel);
    return i && i.complete && i.naturalWidth > 0;
  }, selector, { timeout: 20000 }).catch(() => fail(`${what} (${selector}) did not load`));
  const w = await img.evaluate((i) => `${i.naturalWidth}x${i.naturalHeight}`);
  log(`${what} loaded: ${w}`);
}

async function noControls(page, what) {
  const n = await page.evaluate(() => ({
    actions: document.querySelectorAll('[data-action]').length,
    buttons: [...document.querySelectorAll('button')].filter((b) => !b.dataset.nav).map((b) => b.textContent),
    forms: document.querySelectorAll('form.maint-form').length,
  }));
  if (n.actions || n.buttons.length || n.forms) fail(`${what}: a reader's page has controls: ${JSON.stringify(n)}`);
}

async function shot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
  log(`screenshot ${name}.png`);
}

// a small picture for the README: 1200 pixels wide, JPEG
async function docShot(page, name) {
  if (!env.DASH_DOCS) return;
  const size = page.viewportSize();
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(env.DASH_DOCS, `${name}.jpg`), type: 'jpeg', quality: 70 });
  await page.setViewportSize(size);
  log(`README picture ${name}.jpg`);
}

try {
  // ---- a writer: the fleet
  const { context: wctx, page } = await open(env.DASH_WRITER, 'writer');
  await page.waitForFunction(() => !location.href.includes('token='));
  const stored = await page.evaluate(() => sessionStorage.getItem('camera_health.token'));
  if (stored !== env.DASH_WRITER) fail('the token was not moved from the fragment to sessionStorage');
  if (!page.url().endsWith('/dashboard/#/')) fail(`the address bar still holds more than the route: ${page.url()}`);
  await page.locator('.who [data-role="camera_health_writer"]').waitFor();
  log('writer: the token left the address bar for sessionStorage; signed in as writer');
  await waitCounts(page);
  await compareCounts(page, 'writer, fleet');

  const tile = `.tile[data-camera-id="${ids.covered}"]`;
  await page.locator(`${tile} .chip[data-alert-type="obstruction"]`).waitFor();
  await page.locator(`#open-alerts li.alert[data-alert-id="${alertId}"][data-alert-type="obstruction"]`).waitFor();
  await imageLoaded(page, `${tile} img.snapshot`, 'the covered camera\'s tile: its latest frame');
  await page.locator(`.tile[data-camera-id="${ids.healthy}"]`).waitFor();
  const loading = await page.evaluate(() => [...document.querySelectorAll('.tile img')].map((i) => i.loading));
  if (!loading.length || loading.some((l) => l !== 'lazy')) fail(`the tiles' pictures are not lazy: ${loading}`);
  log(`the covered camera's tile shows its obstruction alert; ${loading.length} tile pictures, all loading=lazy`);
  if (!(await page.locator('button[data-action="acknowledge"]').count())) fail('a writer sees no Acknowledge button');
  await shot(page, 'fleet-writer');
  await docShot(page, 'dashboard-fleet');

  // ---- the covered camera's page
  await page.click(tile);
  await page.waitForFunction((h) => location.hash === h, `#/camera/${ids.covered}`);
  const row = `tr.alert[data-alert-id="${alertId}"]`;
  await page.locator(`${row}[data-alert-type="obstruction"]`).waitFor();
  await imageLoaded(page, `img.evidence[data-alert-id="${alertId}"]`, 'the obstruction alert\'s evidence');
  await imageLoaded(page, 'img.reference', 'the reference');
  await imageLoaded(page, 'img.snapshot', 'the latest frame');
  await page.waitForFunction(() => Number(document.querySelector('canvas.heartbeat[data-check="vision"]')?.dataset.marks) > 0);
  await page.waitForFunction(() => Number(document.querySelector('canvas.heartbeat[data-check="ip"]')?.dataset.marks) > 0);
  const marks = await page.evaluate(() => [...document.querySelectorAll('canvas.heartbeat')].map((c) => `${c.dataset.check} ${c.dataset.marks}`));
  const vstatus = await page.locator('tr[data-check="vision"]').getAttribute('data-status');
  const points = await page.locator('canvas.latency').getAttribute('data-points');
  log(`camera page: the heartbeat bars hold ${marks.join(', ')} marks, the latency chart ${points} samples; vision ${vstatus}`);
  await shot(page, 'camera-writer');
  await docShot(page, 'dashboard-camera');

  // acknowledge, in the page; the database says so
  const t0 = Date.now();
  await page.click(`${row} button[data-action="acknowledge"]`);
  await page.locator(`${row}[data-status="acknowledged"]`).waitFor();
  if (await page.locator(`${row} button[data-action="acknowledge"]`).count()) fail('the Acknowledge button stayed');
  const acked = await ask(`acknowledged ${alertId}`);
  if (acked !== 'ok') fail(`acknowledged in the page, but the database says: ${acked}`);
  log(`acknowledged alert ${alertId} in the page in ${Date.now() - t0} ms: the database has it acknowledged`);

  // ---- live: a camera's port fails while the fleet page is open
  await page.click('a[href="#/"]');
  await page.locator('#open-alerts li.alert').first().waitFor();
  await page.locator(`.tile[data-camera-id="${ids.port}"]`).waitFor();
  const answer = await ask('break-port');
  const [word, newAlert, openedMs] = answer.split(' ');
  if (word !== 'alert') fail(`break-port: ${answer}`);
  const t1 = Date.now();
  // within 10 s of its opening (created_at), not of this question's answer
  await page.locator(`#open-alerts li.alert[data-alert-id="${newAlert}"][data-alert-type="port_unavailable"]`)
    .waitFor({ timeout: Math.max(1, Number(openedMs) + 10000 - Date.now()) })
    .catch(() => fail(`the new alert ${newAlert} did not appear on the open page within 10 s of its opening`));
  log(`the new port_unavailable alert ${newAlert} appeared on the open page ${Date.now() - Number(openedMs)} ms after it opened ` +
    `(${Date.now() - t1} ms after the shell saw it in the database)`);
  await page.locator(`.tile[data-camera-id="${ids.port}"] .chip[data-alert-type="port_unavailable"]`).waitFor({ timeout: 10000 });
  await compareCounts(page, 'writer, fleet, after the port failed');
  await compareUptime(page);
  await compareGroups(page, [['site:dash-lobby', alertId], ['site:dash-yard', Number(newAlert)]]);

  // the alerts' filters and the wall's search
  const types = () => page.evaluate(() => [...document.querySelectorAll('#open-alerts li.alert')].map((l) => l.dataset.alertType));
  await page.selectOption('select[data-filter="alert_type"]', 'obstruction');
  await page.waitForFunction(() => {
    const l = [...document.querySelectorAll('#open-alerts li.alert')];
    return l.length > 0 && l.every((x) => x.dataset.alertType === 'obstruction');
  });
  await page.selectOption('select[data-filter="alert_type"]', '');
  await page.selectOption('select[data-filter="site"]', 'dash-yard');
  await page.waitForFunction((cam) => {
    const l = [...document.querySelectorAll('#open-alerts li.alert')];
    return l.length > 0 && l.every((x) => Number(x.dataset.cameraId) === cam);
  }, ids.port);
  await page.selectOption('select[data-filter="site"]', '');
  await page.locator(`#open-alerts li.alert[data-alert-id="${alertId}"]`).waitFor();
  await page.fill('input[data-filter="search"]', 'covered');
  await page.waitForFunction((cam) => {
    const t = [...document.querySelectorAll('#wall .tile')];
    return t.length === 1 && Number(t[0].dataset.cameraId) === cam;
  }, ids.covered);
  await page.fill('input[data-filter="search"]', 'dash-yard');
  await page.waitForFunction((cam) => {
    const t = [...document.querySelectorAll('#wall .tile')];
    return t.length === 1 && Number(t[0].dataset.cameraId) === cam;
  }, ids.port);
  await page.fill('input[data-filter="search"]', '');
  await page.waitForFunction(() => document.querySelectorAll('#wall .tile').length >= 3);
  log(`the alerts' filters (type, site) and the wall's search (name, site) narrow the page; all alerts: ${(await types()).join(', ')}`);

  // ---- acting on the port camera's page: an API error is shown, a window starts, disable/enable
  await page.click(`.tile[data-camera-id="${ids.port}"]`);
  await page.waitForFunction((h) => location.hash === h, `#/camera/${ids.port}`);
  const end = page.locator('li.window button[data-action="end-maintenance"]').first();
  await end.waitFor();
  if ((await ask('drop-window')) !== 'ok') fail('drop-window');
  await end.click();
  const err = page.locator('.notice.n-error', { hasText: 'does not exist' });
  await err.waitFor({ timeout: 10000 }).catch(() => fail('the API\'s refusal was not shown'));
  log(`an API error is shown to the operator: "${(await err.locator('.text').textContent()).trim()}"`);
  await page.fill('form.maint-form input[data-action="maintenance-reason"]', 'dashboard test form');
  await page.click('form.maint-form button[data-action="start-maintenance"]');
  await page.locator('li.window[data-running="true"]', { hasText: 'dashboard test form' }).waitFor();
  if ((await ask(`window-started ${ids.port}`)) !== 'ok') fail('the maintenance window started in the page is not in the database');
  await page.click('button[data-action="disable"]');
  await page.locator('button[data-action="enable"]').waitFor();
  if ((await ask(`enabled ${ids.port} f`)) !== 'ok') fail('disabled in the page, still enabled in the database');
  await page.click('button[data-action="enable"]');
  await page.locator('button[data-action="disable"]').waitFor();
  if ((await ask(`enabled ${ids.port} t`)) !== 'ok') fail('enabled in the page, still disabled in the database');
  log('camera page: maintenance started, camera disabled and enabled again, each in the database');
  const started = page.locator('li.window[data-running="true"]', { hasText: 'dashboard test form' });
  await started.locator('button[data-action="end-maintenance"]').click();
  await started.waitFor({ state: 'detached', timeout: 10000 }).catch(() => fail('the window ended in the page is still shown as running'));
  if ((await ask(`window-ended ${ids.port}`)) !== 'ok') fail('the maintenance window ended in the page still runs in the database');

  // ---- resetting the healthy camera's reference: the page asks first, the database drops it
  await page.evaluate((h) => { location.hash = h; }, `#/camera/${ids.healthy}`);
  await page.locator('h1', { hasText: 'dash healthy' }).waitFor();
  const refTaken = await ask(`reference-taken ${ids.healthy}`);
  if (!/^[0-9]+$/.test(refTaken)) fail(`the healthy camera has no reference to reset: ${refTaken}`);
  page.lastDialog = '';
  await page.click('button[data-action="reset-reference"]');
  await page.locator('.notice', { hasText: 'reference dropped' }).waitFor({ timeout: 10000 })
    .catch(() => fail('no notice that the reference was dropped'));
  const asked = page.lastDialog;
  if (!asked) fail('the reference was reset without asking');
  if ((await ask(`reference-reset ${ids.healthy} ${refTaken}`)) !== 'ok') fail('the reference reset in the page is still in the database');
  log(`camera page: a window ended, the reference reset after "${asked}", each in the database`);
  await wctx.close();

  // ---- a reader: the same pages without a single control
  const { context: rctx, page: rp } = await open(env.DASH_READER, 'reader');
  await rp.locator('.who [data-role="camera_health_reader"]').waitFor();
  await waitCounts(rp);
  await rp.locator(`.tile[data-camera-id="${ids.covered}"] .chip[data-alert-type="obstruction"]`).waitFor();
  await rp.locator('#open-alerts li.alert').first().waitFor();
  await compareCounts(rp, 'reader, fleet');
  await noControls(rp, 'reader, fleet');
  await shot(rp, 'fleet-reader');
  await rp.click(`.tile[data-camera-id="${ids.covered}"]`);
  await rp.locator(`tr.alert[data-alert-id="${alertId}"][data-status="acknowledged"]`).waitFor();
  await imageLoaded(rp, `img.evidence[data-alert-id="${alertId}"]`, 'reader: the evidence');
  await imageLoaded(rp, 'img.reference', 'reader: the reference');
  await rp.locator('li.window, ul.windows li.muted').first().waitFor();
  await noControls(rp, 'reader, camera');
  // and the API refuses a reader anyway
  const status = await rp.evaluate(async ([cam, alert]) => {
    const r = await fetch(`/health/camera/${cam}/alerts/${alert}/acknowledge`, { method: 'POST',
      headers: { Authorization: `Bearer ${sessionStorage.getItem('camera_health.token')}` } });
    return r.status;
  }, [ids.covered, alertId]);
  if (status !== 403) fail(`a reader's acknowledge answered ${status}, want 403`);
  log('reader: fleet and camera pages without any control; the API answers a reader\'s write with 403');
  await shot(rp, 'camera-reader');
  await rctx.close();

  // ---- no token: the anonymous role reads; a field to paste a token
  const { context: actx, page: ap } = await open(null, 'anonymous');
  await waitCounts(ap);
  await ap.locator('form.signin input.token').waitFor();
  await noControls(ap, 'anonymous');
  log('no token: read only, with a field to paste a token');
  await actx.close();

  // ---- 5,000 cameras more: the wall pages, the pictures stay lazy
  if ((await ask('bulk 5000')) !== 'ok') fail('bulk');
  const { context: bctx, page: bp } = await open(env.DASH_WRITER, 'writer, 5,000 cameras');
  const tb = Date.now();
  await bp.waitForFunction(() => Number(document.getElementById('wall').dataset.loaded) >= 200);
  const first = Date.now() - tb;
  await waitCounts(bp);
  await compareCounts(bp, '5,000 cameras more');
  const tiles = await bp.locator('#wall .tile').count();
  if (tiles !== 200) fail(`the wall's first page holds ${tiles} tiles, want 200`);
  const fetched = () => bp.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/snapshot')).length);
  const before = await fetched();
  if (before >= tiles) fail(`all ${tiles} tiles' pictures were fetched before scrolling: not lazy`);
  await bp.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await bp.waitForFunction(() => Number(document.getElementById('wall').dataset.loaded) >= 400);
  const shown = await bp.locator('#wall .tile').count();
  log(`5,000 cameras more: the first 200 tiles in ${first} ms, 200 more on scrolling (${shown} shown); ` +
    `pictures fetched: ${before} of the first ${tiles} before scrolling, ${await fetched()} after (lazy)`);
  await bctx.close();

  if (problems.length) fail(`the browser reported:\n${problems.join('\n')}`);
  process.stdout.write('done\n');
  log('all dashboard checks passed');
  await browser.close();
  process.exit(0);
} catch (e) {
  process.stderr.write(`FAIL [dashboard]: ${e.message}\n`);
  if (problems.length) process.stderr.write(`the browser reported:\n${problems.join('\n')}\n`);
  await browser.close().catch(() => {});
  process.exit(1);
}
