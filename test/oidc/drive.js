// test/oidc/drive.js — a stand-in for the browser in fcm's auth tests: open
// URL, log in on oidc-provider's development pages as USER, give consent,
// and follow the redirects to the end (the CLI's loopback callback, or the
// device flow's "done" page).  Loopback only: refuses any other host.
//
//   node drive.js URL USER
const [url, user] = process.argv.slice(2);
const jar = new Map();
const loopback = (u) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname);

function cookies() {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}
function keep(res) {
  for (const c of res.headers.getSetCookie ? res.headers.getSetCookie() : []) {
    const [kv] = c.split(';');
    const i = kv.indexOf('=');
    jar.set(kv.slice(0, i).trim(), kv.slice(i + 1));
  }
}
async function go(u, method = 'GET', body = null) {
  if (!loopback(u)) throw new Error(`refusing to visit ${u}: not loopback`);
  const headers = { cookie: cookies() };
  if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(u, { method, body, headers, redirect: 'manual' });
  keep(res);
  return res;
}
function form(html, base) {
  const m = html.match(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i)
    || html.match(/<form[^>]*>([\s\S]*?)<\/form>/i);
  if (!m) return null;
  const action = m.length === 3 ? m[1] : base;
  const inner = m.length === 3 ? m[2] : m[1];
  const fields = new URLSearchParams();
  for (const inp of inner.matchAll(/<input[^>]*>/gi)) {
    const name = (inp[0].match(/name="([^"]*)"/) || [])[1];
    if (!name) continue;
    let value = (inp[0].match(/value="([^"]*)"/) || [])[1] || '';
    if (name === 'login') value = user;
    if (name === 'password') value = 'any';
    fields.append(name, value.replace(/&amp;/g, '&'));
  }
  return { action: new URL(action.replace(/&amp;/g, '&'), base).href, fields };
}

let res = await go(url);
let here = url;
for (let step = 0; step < 30; step++) {
  if (res.status >= 300 && res.status < 400) {
    here = new URL(res.headers.get('location'), here).href;
    res = await go(here);
    continue;
  }
  const html = await res.text();
  if (new URL(here).pathname === '/callback') {
    console.log(`callback ${res.status}`);
    process.exit(res.status === 200 ? 0 : 1);
  }
  const f = form(html, here);
  if (!f) {
    console.log(`done ${res.status} ${html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)}`);
    process.exit(res.status === 200 ? 0 : 1);
  }
  here = f.action;
  res = await go(f.action, 'POST', f.fields.toString());
}
console.log('too many steps');
process.exit(1);
