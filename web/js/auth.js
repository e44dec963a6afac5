// The operator's token: a JWT handed over in the URL fragment (#token=...),
// moved to sessionStorage and removed from the address bar at once, so that
// it is neither in the history nor in a bookmark nor sent anywhere but in
// the Authorization header of the API's requests.  Without a token the API
// answers as its anonymous role (camera_health_anon, a reader).
//
// The role is read from the token's payload (its "role" claim).  The page
// cannot check the signature, and need not: it only decides which controls
// to show; the API refuses a reader's writes anyway (403).

const KEY = 'camera_health.token';

// Takes a token out of the fragment (#token=... or #/route&token=...);
// returns true if there was one.
export function takeTokenFromUrl() {
  const hash = location.hash;
  const m = hash.match(/(^#|[&?#])token=([^&]*)/);
  if (!m) return false;
  const token = decodeURIComponent(m[2]);
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  let rest = hash.slice(0, m.index + (m[1] === '#' ? 1 : 0)) + hash.slice(m.index + m[0].length);
  rest = rest.replace(/[&?]$/, '');
  if (rest === '' || rest === '#') rest = '#/';
  history.replaceState(null, '', location.pathname + location.search + rest);
  return true;
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t.trim());
  else sessionStorage.removeItem(KEY);
}

function b64urlJson(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

// {token, role, exp, expired, canWrite, error}
export function session() {
  const t = token();
  if (!t) return { token: null, role: 'camera_health_anon', canWrite: false };
  try {
    const parts = t.split('.');
    if (parts.length !== 3) throw new Error('not a JWT');
    const claims = b64urlJson(parts[1]);
    const role = typeof claims.role === 'string' ? claims.role : 'camera_health_anon';
    const exp = typeof claims.exp === 'number' ? claims.exp : null;
    const expired = exp !== null && exp * 1000 <= Date.now();
    return { token: t, role, exp, expired, canWrite: role === 'camera_health_writer' && !expired };
  } catch (e) {
    return { token: t, role: 'unknown', canWrite: false, error: `the token cannot be read: ${e.message}` };
  }
}
