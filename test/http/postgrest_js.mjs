// The HTTP API through a PostgREST client library nobody here wrote:
// @supabase/postgrest-js (pinned in tools/package.json), against nginx's
// PostgREST paths (/rpc/..., the views).  Run by test/test_http.sh:
//
//   node test/http/postgrest_js.mjs BASE_URL WRITER_TOKEN READER_TOKEN CAMERA_ID
//
// CAMERA_ID is a camera with credentials in its URL, history and an
// acknowledged alert.  Exits non-zero on the first difference.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'tools', 'package.json'));
const { PostgrestClient } = require('@supabase/postgrest-js');

const [base, writerToken, readerToken, cameraArg] = process.argv.slice(2);
const camera = Number(cameraArg);
const client = (token) =>
  new PostgrestClient(base, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
const anon = client(null);
const reader = client(readerToken);
const writer = client(writerToken);

let checks = 0;
function expectError(res, status, code, what) {
  assert.equal(res.status, status, `${what}: status ${res.status}: ${JSON.stringify(res.error)}`);
  assert.equal(res.error?.code, code, `${what}: ${JSON.stringify(res.error)}`);
  assert.ok(res.error.message, `${what}: an error without a message`);
  assert.ok('details' in res.error && 'hint' in res.error, `${what}: no details or hint`);
  checks++;
}
function expectOk(res, status, what) {
  assert.equal(res.status, status, `${what}: status ${res.status}: ${JSON.stringify(res.error)}`);
  assert.equal(res.error, null, what);
  checks++;
  return res.data;
}

// reads: anonymous and reader see the camera, credentials masked
for (const [who, c] of [['anon', anon], ['reader', reader]]) {
  const cam = expectOk(await c.rpc('get_camera', { camera_id: camera }, { get: true }), 200, `${who} get_camera`);
  assert.equal(cam.rtsp_url, 'rtsp://viewer:***@127.0.9.1:8554/live?token=***', `${who} masked`);
  const list = expectOk(await c.rpc('list_cameras', undefined, { get: true }), 200, `${who} list_cameras`);
  assert.ok(list.some((x) => x.id === camera && !x.rtsp_url.includes('s3cr3t')), `${who} list masked`);
  const view = expectOk(await c.from('cameras').select('id,rtsp_url').eq('id', camera), 200, `${who} cameras`);
  assert.deepEqual(view, [{ id: camera, rtsp_url: cam.rtsp_url }]);
}
const full = expectOk(await writer.from('cameras').select('rtsp_url').eq('id', camera).single(), 200, 'writer cameras');
assert.equal(full.rtsp_url, 'rtsp://viewer:s3cr3t@127.0.9.1:8554/live?token=t0k3n');

const logs = expectOk(await anon.rpc('camera_logs', { camera_id: camera, check_type: 'ip', max_rows: 2 }, { get: true }),
  200, 'camera_logs');
assert.deepEqual(logs.map((l) => l.check_type), ['ip', 'ip']);
const alerts = expectOk(await anon.rpc('camera_alerts', { camera_id: camera, only_open: true }, { get: true }),
  200, 'camera_alerts');
assert.equal(alerts.length, 1);
assert.equal(alerts[0].status, 'acknowledged');
const failing = expectOk(await anon.from('camera_status').select('check_type').eq('camera_id', camera).neq('status', 'ok'),
  200, 'camera_status');
assert.deepEqual(failing, [{ check_type: 'ip' }]);
const open = expectOk(await anon.from('open_alerts').select('id').eq('camera_id', camera), 200, 'open_alerts');
assert.deepEqual(open, [{ id: alerts[0].id }]);
const summary = expectOk(await anon.rpc('health_summary', undefined, { get: true }), 200, 'health_summary');
assert.equal(typeof summary.cameras, 'number');
expectOk(await anon.rpc('get_log_retention', { camera_id: camera }, { get: true }), 200, 'get_log_retention');

// errors: unknown camera, bad input, duplicate, no token, a reader's token
expectError(await anon.rpc('get_camera', { camera_id: 999999 }, { get: true }), 404, 'P0002', 'unknown camera');
expectError(await anon.rpc('camera_logs', { camera_id: camera, check_type: 'icmp' }, { get: true }), 400, '22023', 'bad check_type');
expectError(await anon.rpc('camera_logs', { camera_id: camera, max_rows: 0 }, { get: true }), 400, '22023', 'bad max_rows');
expectError(await writer.rpc('register_camera', { ip_address: '10.0.0.0/8' }), 400, '22023', 'a network');
expectError(await writer.rpc('register_camera', { ip_address: '127.0.9.5', port: 0 }), 400, '22023', 'port 0');
expectError(await writer.rpc('register_camera', { ip_address: '127.0.9.5', rtsp_url: 'ftp://x/y' }), 400, '22023', 'ftp URL');
expectError(await writer.rpc('register_camera', { ip_address: '127.0.9.5', colour: 'red' }), 400, '22023', 'unknown field');
expectError(await writer.rpc('register_camera', { port: 554 }), 400, '22004', 'no address');
expectError(await writer.rpc('register_camera', {
  ip_address: '127.0.9.1', port: 8554, rtsp_url: 'rtsp://viewer:s3cr3t@127.0.9.1:8554/live?token=t0k3n',
}), 409, '23505', 'duplicate');
expectError(await anon.rpc('register_camera', { ip_address: '127.0.9.5' }), 401, '42501', 'no token');
expectError(await reader.rpc('register_camera', { ip_address: '127.0.9.5' }), 403, '42501', 'reader token');
expectError(await writer.rpc('set_log_retention', { camera_id: camera, policy: { retention: '5 minutes' } }),
  400, '22023', 'short retention');
expectError(await writer.rpc('update_camera', { camera_id: 999999, changes: {} }), 404, 'P0002', 'update unknown');
expectError(await writer.rpc('acknowledge_alert', { alert_id: 999999 }), 404, 'P0002', 'unknown alert');
// the internals are not there
expectError(await writer.rpc('require_camera', { camera_id: camera }), 404, 'PGRST202', 'require_camera');
expectError(await writer.from('camera_references').select('*'), 404, '42P01', 'camera_references');

// writes: register (201), change, switch off and on, retention, reference, delete
const made = await writer.rpc('register_camera', { ip_address: '127.0.9.7', name: 'from postgrest-js' });
const cam = expectOk(made, 201, 'register_camera');
assert.equal(cam.port, 554);
let changed = expectOk(await writer.rpc('update_camera', { camera_id: cam.id, changes: { port: 8080, name: null } }),
  200, 'update_camera');
assert.equal(changed.port, 8080);
assert.equal(changed.name, null);
changed = expectOk(await writer.rpc('set_camera_enabled', { camera_id: cam.id, enabled: false }), 200, 'disable');
assert.equal(changed.enabled, false);
const policy = expectOk(await writer.rpc('set_log_retention', { camera_id: cam.id, policy: { retention: '2 days' } }),
  200, 'set_log_retention');
assert.equal(policy.retention, '2 days');
const reset = expectOk(await writer.rpc('reset_reference', { camera_id: cam.id }), 200, 'reset_reference');
assert.deepEqual(reset, { camera_id: cam.id, reference_dropped: false });
const ack = expectOk(await writer.rpc('acknowledge_alert', { alert_id: alerts[0].id, camera_id: camera }), 200, 'acknowledge');
assert.equal(ack.status, 'acknowledged');
const gone = expectOk(await writer.rpc('delete_camera', { camera_id: cam.id }), 200, 'delete_camera');
assert.equal(gone.id, cam.id);
expectError(await anon.rpc('get_camera', { camera_id: cam.id }, { get: true }), 404, 'P0002', 'deleted camera');

console.log(`  postgrest-js: ${checks} calls as expected`);
