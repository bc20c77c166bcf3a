// web/src/app.js — fcm's web dashboard (doc/web.md).
//
// One page, four views chosen by the location's hash: the apps (#/), one app
// (#/app/NAME), create (#/create) and a console (#/console/NAME), plus the
// sign-in when there is no session.  Every action is a request to fcm's own
// API (doc/api.md) with the session cookie; those that change anything carry
// the session's CSRF token.  Errors are shown as the API words them.  No
// inline script, no HTML built from strings: every node is made with h().
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

const POLL_MS = 2000;

let session = null;	// {name, admin, csrf, ...} of GET /v1/session
let commands = null;	// GET /v1/commands
let timer = null;	// the view's polling
let leaving = [];	// what the view must undo when another replaces it
let viewSeq = 0;	// which view is on the page: late answers for an older one are dropped

// --- small helpers ------------------------------------------------------------

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

const $ = (sel) => document.querySelector(sel);

function showError(msg) {
  const box = $('#error');
  if (!msg) { box.hidden = true; box.textContent = ''; return; }
  box.textContent = msg;
  box.hidden = false;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : `the API answered ${status}`);
    this.status = status;
    this.kind = body && body.kind;
  }
}

// A request to the API: the reply's JSON (or text with {text:true}); an
// ApiError with the API's own words otherwise.
async function api(method, path, body, opts = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && session && session.csrf) headers['X-FCM-CSRF'] = session.csrf;
  const resp = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const ctype = resp.headers.get('Content-Type') || '';
  if (resp.ok && opts.text) return resp.text();
  let data = null;
  if (ctype.startsWith('application/json')) {
    try { data = await resp.json(); } catch { data = null; }
  } else if (!resp.ok) {
    data = { error: (await resp.text()).trim() || `the API answered ${resp.status}` };
  }
  if (!resp.ok) {
    if (resp.status === 401 && path !== '/v1/session') { session = null; route(); }
    throw new ApiError(resp.status, data);
  }
  return data;
}

const vmPath = (name) => `/v1/vms/${encodeURIComponent(name)}`;

function age(created) {
  if (!created) return '';
  let s = Math.max(0, Math.floor(Date.now() / 1000 - created));
  if (s < 60) return `${s}s`;
  if ((s = Math.floor(s / 60)) < 60) return `${s}m`;
  if ((s = Math.floor(s / 60)) < 48) return `${s}h`;
  return `${Math.floor(s / 24)}d`;
}

function stateEl(state) {
  return h('span', { class: `state state-${state || 'unknown'}`, 'data-state': state || '' }, state || '?');
}

function stopPolling() {
  if (timer) clearInterval(timer);
  timer = null;
}

function poll(fn) {
  stopPolling();
  fn();
  timer = setInterval(fn, POLL_MS);
}

// --- the frame ----------------------------------------------------------------

function renderNav() {
  const nav = $('#nav');
  nav.replaceChildren();
  if (!session) return;
  nav.append(
    h('a', { href: '#/' }, 'Apps'),
    h('a', { href: '#/create', id: 'nav-create' }, 'Create'),
    h('span', { class: 'who', id: 'who' }, session.name + (session.admin ? ' (admin)' : '')),
    h('button', { id: 'signout', onclick: signOut }, 'Sign out'),
  );
}

function view(title, ...kids) {
  const main = $('#main');
  main.replaceChildren(...kids);
  document.title = title ? `${title} — fcm` : 'fcm';
}

async function signOut() {
  try {
    await api('DELETE', '/v1/session');
  } catch (e) {
    showError(e.message);
    return;
  }
  session = null;
  location.hash = '#/';
  route();
}

// --- sign-in --------------------------------------------------------------------

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString() {
  return b64url(crypto.getRandomValues(new Uint8Array(32)));
}

// The OIDC sign-in: the browser goes to the issuer with a fresh PKCE
// verifier, state and nonce (kept in sessionStorage), and comes back to
// /login with a code, which the host exchanges (POST /v1/session).
async function oidcStart(cfg) {
  const verifier = randomString(), state = randomString(), nonce = randomString();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const redirect = `${location.origin}/login`;
  sessionStorage.setItem('fcm-oidc', JSON.stringify({ verifier, state, nonce, redirect }));
  const u = new URL(cfg.authorization_endpoint);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', cfg.client_id);
  u.searchParams.set('redirect_uri', redirect);
  u.searchParams.set('scope', cfg.scope || 'openid email profile');
  u.searchParams.set('state', state);
  u.searchParams.set('nonce', nonce);
  u.searchParams.set('code_challenge', b64url(digest));
  u.searchParams.set('code_challenge_method', 'S256');
  location.assign(u.toString());
}

// Back from the issuer at /login?code=...&state=...: finish the sign-in.
async function oidcFinish() {
  const q = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem('fcm-oidc') || 'null');
  sessionStorage.removeItem('fcm-oidc');
  history.replaceState(null, '', '/#/');
  if (q.get('error')) throw new Error(`the sign-in was refused: ${q.get('error_description') || q.get('error')}`);
  if (!saved || !q.get('code') || q.get('state') !== saved.state)
    throw new Error('the sign-in did not come back as it left (state mismatch): sign in again');
  session = await api('POST', '/v1/session', {
    code: q.get('code'), code_verifier: saved.verifier, redirect_uri: saved.redirect, nonce: saved.nonce,
  });
}

async function renderSignIn() {
  stopPolling();
  renderNav();
  const tokenInput = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off',
    placeholder: 'admin token or API token', required: true });
  const form = h('form', { id: 'signin', class: 'card', onsubmit: async (ev) => {
    ev.preventDefault();
    showError('');
    try {
      session = await api('POST', '/v1/session', { token: tokenInput.value.trim() });
      tokenInput.value = '';
      route();
    } catch (e) { showError(e.message); }
  } },
  h('h1', {}, 'Sign in to fcm'),
  h('label', {}, 'Token', tokenInput),
  h('p', { class: 'muted' }, 'The host\'s admin token is in $FCM_ROOT/.token; `fcm login` gives a user token.'),
  h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  const oidc = h('div', { class: 'card', id: 'oidc', hidden: true });
  view('Sign in', form, oidc);
  try {
    const cfg = await api('GET', '/v1/auth/config');
    if (cfg && cfg.authorization_endpoint && cfg.client_id) {
      oidc.append(h('button', { class: 'primary', id: 'oidc-signin', onclick: () => oidcStart(cfg).catch((e) => showError(e.message)) },
        `Sign in with ${new URL(cfg.issuer || cfg.authorization_endpoint).host}`));
      oidc.hidden = false;
    }
  } catch { /* logins not set up on this host: the token only */ }
}

// --- apps -------------------------------------------------------------------------

function renderApps() {
  const admin = session.admin;
  const tbody = h('tbody', {});
  const table = h('table', { class: 'vms', id: 'vms' },
    h('thead', {}, h('tr', {},
      h('th', {}, 'Name'), h('th', {}, 'State'), admin && h('th', {}, 'Owner'), h('th', {}, 'URL'),
      h('th', {}, 'Resources'), h('th', {}, 'Age'), h('th', {}, 'Last deploy'))),
    tbody);
  const empty = h('p', { class: 'muted', id: 'no-vms', hidden: true }, 'No VMs yet. ',
    h('a', { href: '#/create' }, 'Create one'), '.');
  view('Apps', h('h1', {}, 'Apps'), table, empty);
  const me = viewSeq;
  poll(async () => {
    let vms;
    try { vms = await api('GET', '/v1/vms'); } catch (e) { if (me === viewSeq) showError(e.message); return; }
    if (me !== viewSeq) return;
    showError('');
    empty.hidden = vms.length > 0;
    tbody.replaceChildren(...vms.map((vm) => h('tr', { 'data-vm': vm.name },
      h('td', { 'data-label': 'Name' }, h('a', { href: `#/app/${encodeURIComponent(vm.name)}` }, vm.name)),
      h('td', { 'data-label': 'State' }, stateEl(vm.state)),
      admin && h('td', { 'data-label': 'Owner', class: 'owner' }, vm.owner || ''),
      h('td', { 'data-label': 'URL' }, vm.url ? h('a', { href: vm.url, rel: 'noopener noreferrer', target: '_blank' }, vm.url) : h('span', { class: 'muted' }, 'not exposed')),
      h('td', { 'data-label': 'Resources' }, `${vm.cpus} CPU · ${vm.memory} MiB · ${vm.disk}`),
      h('td', { 'data-label': 'Age' }, age(vm.created_at)),
      h('td', { 'data-label': 'Last deploy' }, vm.deployed_at ? `${age(vm.deployed_at)} ago` : h('span', { class: 'muted' }, '—')))));
  });
}

// --- one app --------------------------------------------------------------------

function confirmDestroy(name) {
  return new Promise((resolve) => {
    const input = h('input', { id: 'confirm-name', autocomplete: 'off', spellcheck: 'false' });
    const ok = h('button', { class: 'danger', id: 'confirm-destroy', disabled: true, type: 'submit' }, 'Destroy');
    const dlg = h('dialog', { id: 'destroy-dialog' },
      h('form', { method: 'dialog' },
        h('h2', {}, `Destroy ${name}?`),
        h('p', {}, 'Its disk, network, route and git repository go for good. Type its name to confirm.'),
        h('label', {}, 'Name', input),
        h('div', { class: 'actions' }, ok, h('button', { value: 'cancel', type: 'submit', id: 'cancel-destroy' }, 'Cancel'))));
    input.addEventListener('input', () => { ok.disabled = input.value !== name; });
    ok.addEventListener('click', () => { dlg.returnValue = 'yes'; });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue === 'yes' && input.value === name); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

async function loadCommands() {
  if (!commands) commands = await api('GET', '/v1/commands');
  return commands;
}

function renderApp(name) {
  const facts = h('dl', { class: 'facts', id: 'facts' });
  const status = h('span', { class: 'muted', id: 'action-status' });
  const actions = h('div', { class: 'actions', id: 'actions' });
  const exposeForm = h('form', { class: 'actions', id: 'expose-form' });
  const remote = h('p', { id: 'remote' }, h('span', { class: 'muted' }, '…'));
  const logs = h('pre', { class: 'log', id: 'logs' });
  const deployLogs = h('pre', { class: 'log', id: 'deploy-logs' });
  let rec = null, busy = false;
  const me = viewSeq;
  const gone = () => me !== viewSeq;	// another view took the page

  async function act(label, fn) {
    if (busy) return;
    busy = true;
    showError('');
    status.textContent = `${label}…`;
    for (const b of actions.querySelectorAll('button')) b.disabled = true;
    try { await fn(); status.textContent = `${label}: done`; } catch (e) { showError(e.message); status.textContent = ''; }
    busy = false;
    if (!gone()) await refresh();
  }

  const post = (verb, body) => api('POST', `${vmPath(name)}/${verb}`, body);

  async function refresh() {
    let got;
    try { got = await api('GET', vmPath(name)); } catch (e) {
      if (gone()) return;
      stopPolling();
      view(name, h('h1', {}, name), h('p', { id: 'not-found' }, e.message), h('a', { href: '#/' }, 'Back to the apps'));
      showError(e.message);
      return;
    }
    if (gone()) return;
    rec = got;
    facts.replaceChildren(
      h('dt', {}, 'State'), h('dd', {}, stateEl(rec.state)),
      h('dt', {}, 'URL'), h('dd', {}, rec.url ? h('a', { href: rec.url, target: '_blank', rel: 'noopener noreferrer' }, rec.url) : 'not exposed'),
      h('dt', {}, 'Owner'), h('dd', {}, rec.owner || ''),
      h('dt', {}, 'IP'), h('dd', {}, rec.ip || ''),
      h('dt', {}, 'Resources'), h('dd', {}, `${rec.cpus} CPU · ${rec.memory} MiB · disk ${rec.disk}`),
      h('dt', {}, 'Age'), h('dd', {}, age(rec.created_at)),
      h('dt', {}, 'Id'), h('dd', {}, rec.id));
    if (busy) return;
    const running = rec.state === 'running';
    const extra = (commands || []).filter((c) => c.vm && !['start', 'stop', 'expose', 'unexpose'].includes(c.name) &&
      c.routes.some((r) => r.method === 'POST' && /^\/v1\/vms\/\{vm\}\/[a-z-]+$/.test(r.path)) &&
      !c.args.length);
    actions.replaceChildren(
      h('button', { id: 'start', disabled: running, onclick: () => act('Starting', () => post('start')) }, 'Start'),
      h('button', { id: 'stop', disabled: !running, onclick: () => act('Stopping', () => post('stop')) }, 'Stop'),
      ...extra.map((c) => h('button', { id: `cmd-${c.name}`, title: c.summary,
        onclick: () => act(c.name, () => api('POST', c.routes[0].path.replace('{vm}', encodeURIComponent(name)))) }, c.name)),
      h('a', { class: 'button primary', id: 'open-console', href: `#/console/${encodeURIComponent(name)}` }, 'Console'),
      h('a', { class: 'button', id: 'watch-console', href: `#/console/${encodeURIComponent(name)}/watch` }, 'Watch'),
      h('button', { class: 'danger', id: 'destroy', onclick: async () => {
        if (!(await confirmDestroy(name))) return;
        await act('Destroying', async () => {
          await api('DELETE', vmPath(name));
          location.hash = '#/';
        });
      } }, 'Destroy'),
      status);
  }

  const portInput = h('input', { type: 'number', min: 1, max: 65535, id: 'expose-port', placeholder: '8000' });
  exposeForm.append(
    h('label', {}, 'Port to expose over HTTPS', portInput),
    h('button', { type: 'submit', id: 'expose' }, 'Expose'),
    h('button', { type: 'button', id: 'unexpose', onclick: () => act('Unexposing', () => post('unexpose')) }, 'Unexpose'));
  exposeForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act('Exposing', () => post('expose', portInput.value ? { port: Number(portInput.value) } : {}));
  });

  async function loadLogs() {
    try { logs.textContent = await api('GET', `${vmPath(name)}/logs?lines=200`, undefined, { text: true }); } catch (e) { logs.textContent = e.message; }
    try { deployLogs.textContent = (await api('GET', `${vmPath(name)}/logs?lines=200&deploy=1`, undefined, { text: true })) || 'No deploy yet.'; } catch (e) { deployLogs.textContent = e.message; }
  }

  // Follow the logs as they come (GET logs?follow=1, a chunked stream).
  let follow = null;
  const followBtn = h('button', { id: 'follow-logs' }, 'Follow');
  followBtn.addEventListener('click', async () => {
    if (follow) { follow.abort(); return; }
    const ctl = new AbortController();
    follow = ctl;
    followBtn.textContent = 'Stop following';
    try {
      const resp = await fetch(`${vmPath(name)}/logs?follow=1&lines=100`, { signal: ctl.signal, credentials: 'same-origin' });
      if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
      logs.textContent = '';
      const rd = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await rd.read();
        if (done) break;
        logs.textContent = (logs.textContent + value).slice(-256 * 1024);
        logs.scrollTop = logs.scrollHeight;
      }
    } catch (e) {
      if (e.name !== 'AbortError') showError(e.message);
    }
    if (follow === ctl) follow = null;
    followBtn.textContent = 'Follow';
  });
  leaving.push(() => { if (follow) follow.abort(); });

  // The app's processes (fcm ps) and config vars (fcm config).
  const procs = h('div', { id: 'procs' }, h('span', { class: 'muted' }, '…'));
  async function loadProcs() {
    if (!rec || rec.state !== 'running') { procs.replaceChildren(h('span', { class: 'muted' }, 'The VM is not running.')); return; }
    try {
      const list = await api('GET', `${vmPath(name)}/ps`);
      procs.replaceChildren(h('table', { class: 'table' },
        h('tr', {}, ...['Process', 'State', 'Release', 'Uptime', 'Restarts', 'Command'].map((t) => h('th', {}, t))),
        ...list.map((p) => h('tr', {}, h('td', {}, p.instance), h('td', {}, p.state), h('td', {}, p.release ?? '-'),
          h('td', {}, p.state === 'up' ? age(Date.now() / 1000 - p.uptime) : '-'), h('td', {}, String(p.restarts)),
          h('td', {}, h('code', {}, p.command))))));
    } catch (e) { procs.replaceChildren(e.message); }
  }
  const config = h('div', { id: 'config' });
  let reveal = false;
  async function loadConfig() {
    let vars;
    try { vars = await api('GET', `${vmPath(name)}/config`); } catch (e) { config.replaceChildren(e.message); return; }
    const rows = vars.map((v) => h('tr', {}, h('td', {}, h('code', {}, v.name)),
      h('td', {}, reveal ? h('code', {}, v.value) : h('span', { class: 'muted' }, '••••••••')),
      h('td', {}, h('button', { class: 'danger', onclick: () => act(`Unsetting ${v.name}`,
        () => api('DELETE', `${vmPath(name)}/config?keys=${encodeURIComponent(v.name)}`).then(loadConfig)) }, 'Unset'))));
    const key = h('input', { id: 'config-key', placeholder: 'KEY', required: true, pattern: '[A-Za-z_][A-Za-z0-9_]*' });
    const value = h('input', { id: 'config-value', placeholder: 'value' });
    const form = h('form', { class: 'actions', id: 'config-form' }, key, value, h('button', { type: 'submit' }, 'Set'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(`Setting ${key.value}`, () => api('POST', `${vmPath(name)}/config`, { pairs: [`${key.value}=${value.value}`] }).then(loadConfig));
    });
    config.replaceChildren(
      vars.length ? h('table', { class: 'table' }, ...rows) : h('p', { class: 'muted' }, 'No config vars.'),
      h('button', { id: 'config-reveal', onclick: () => { reveal = !reveal; loadConfig(); } }, reveal ? 'Hide values' : 'Reveal values'),
      form, h('p', { class: 'muted' }, 'A change restarts the app\'s processes.'));
  }

  // Releases (fcm releases) and rollback to one of them (fcm rollback).
  const releases = h('div', { id: 'releases' });
  async function loadReleases() {
    let list;
    try { list = await api('GET', `${vmPath(name)}/releases`); } catch (e) { releases.replaceChildren(e.message); return; }
    releases.replaceChildren(list.length ? h('table', {},
      h('tr', {}, ...['Version', 'Age', 'By', 'Commit', 'Description', ''].map((t) => h('th', {}, t))),
      ...list.map((r, i) => h('tr', {}, h('td', {}, `v${r.version}`), h('td', {}, age(r.at)), h('td', {}, r.by || ''),
        h('td', {}, h('code', {}, (r.commit || '').slice(0, 7))), h('td', {}, r.description + (i === 0 ? ' (current)' : '')),
        h('td', {}, i > 0 && r.build != null ? h('button', { id: `rollback-v${r.version}`, onclick: () => act(`Rolling back to v${r.version}`,
          () => api('POST', `${vmPath(name)}/rollback`, { version: `v${r.version}` }).then(loadReleases)) }, 'Roll back') : ''))))
      : h('p', { class: 'muted' }, 'No releases yet: git push to make the first.'));
  }

  // Custom domains (fcm domains): each routed with a certificate of its own.
  const domains = h('div', { id: 'domains' });
  async function loadDomains() {
    let list;
    try { list = await api('GET', `${vmPath(name)}/domains`); } catch (e) { domains.replaceChildren(e.message); return; }
    const input = h('input', { id: 'domain-name', placeholder: 'www.example.com', required: true });
    const form = h('form', { class: 'actions', id: 'domain-form' }, input, h('button', { type: 'submit' }, 'Add'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(`Adding ${input.value}`, () => api('POST', `${vmPath(name)}/domains`, { domain: input.value }).then(loadDomains));
    });
    domains.replaceChildren(
      list.length ? h('ul', {}, ...list.map((d) => h('li', {},
        d.url ? h('a', { href: d.url, target: '_blank', rel: 'noopener noreferrer' }, d.domain) : d.domain, ' ',
        h('button', { class: 'danger', onclick: () => act(`Removing ${d.domain}`,
          () => api('DELETE', `${vmPath(name)}/domains/${encodeURIComponent(d.domain)}`).then(loadDomains)) }, 'Remove'))))
        : h('p', { class: 'muted' }, 'No custom domains: the app answers at its URL above.'),
      form, h('p', { class: 'muted' }, 'Point the name\'s DNS at this host; its certificate comes once it resolves here.'));
  }

  view(name,
    h('h1', {}, name),
    h('div', { class: 'card' }, facts, actions),
    h('div', { class: 'card' }, h('h2', {}, 'Processes ', h('button', { id: 'reload-procs', onclick: loadProcs }, 'Reload')), procs),
    h('div', { class: 'card' }, h('h2', {}, 'Releases'), releases),
    h('div', { class: 'card' }, h('h2', {}, 'Config vars'), config),
    h('div', { class: 'card' }, h('h2', {}, 'Custom domains'), domains),
    h('div', { class: 'card' }, h('h2', {}, 'Expose'), exposeForm),
    h('div', { class: 'card' }, h('h2', {}, 'Git remote'), remote),
    h('div', { class: 'card' }, h('h2', {}, 'Deploy log'), deployLogs),
    h('div', { class: 'card' }, h('h2', {}, 'Logs ', h('button', { id: 'reload-logs', onclick: loadLogs }, 'Reload'), ' ', followBtn), logs));

  api('GET', `${vmPath(name)}/remote`).then((r) => {
    const code = h('code', { class: 'copy', id: 'git-remote' }, r.git);
    remote.replaceChildren(code, ' ', h('button', { id: 'copy-remote', onclick: () => navigator.clipboard.writeText(r.git).catch((e) => showError(e.message)) }, 'Copy'),
      h('br'), h('span', { class: 'muted' }, `git remote add fcm ${r.git} && git push fcm main`));
  }).catch((e) => remote.replaceChildren(e.message));
  loadCommands().catch(() => {}).then(() => poll(refresh)).then(loadProcs);
  loadLogs();
  loadConfig();
  loadDomains();
  loadReleases();
}

// --- create -----------------------------------------------------------------------

async function renderCreate() {
  stopPolling();
  const cmds = await loadCommands();
  const create = cmds.find((c) => c.name === 'create');
  const fields = [];
  const form = h('form', { class: 'grid', id: 'create-form' });
  for (const o of create.options) {
    if (o.name === 'owner' && !session.admin) continue;	// the API refuses it to users
    const id = `opt-${o.name}`;
    let input;
    if (o.type === 'flag') {
      input = h('input', { type: 'checkbox', id, name: o.name });
      form.append(h('label', { class: 'check' }, input, ` --${o.name}`));
    } else if (o.type === 'number') {
      input = h('input', { type: 'number', id, name: o.name, min: o.min, max: o.max });
      form.append(h('label', {}, `--${o.name} (${o.min}–${o.max})`, input));
    } else if (o.type === 'list') {
      input = h('textarea', { id, name: o.name, rows: 2, placeholder: 'one per line' });
      form.append(h('label', {}, o.name === 'keys' ? 'ssh public keys' : `--${o.name}`, input));
    } else {
      input = h('input', { type: 'text', id, name: o.name, autocomplete: 'off' });
      form.append(h('label', {}, `--${o.name}`, input));
    }
    fields.push([o, input]);
  }
  const status = h('span', { class: 'muted', id: 'create-status' });
  const submit = h('button', { class: 'primary', type: 'submit', id: 'create' }, 'Create');
  form.append(h('div', { class: 'actions' }, submit, status));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('');
    const body = {};
    for (const [o, input] of fields) {
      if (o.type === 'flag') { if (input.checked) body[o.key] = o.value; continue; }
      const v = input.value.trim();
      if (!v) continue;
      if (o.type === 'number') body[o.key] = Number(v);
      else if (o.type === 'list') body[o.key] = v.split('\n').map((s) => s.trim()).filter(Boolean);
      else body[o.key] = v;
    }
    submit.disabled = true;
    status.textContent = 'Creating… (until the guest is ready)';
    try {
      const rec = await api('POST', '/v1/vms', body);
      location.hash = `#/app/${encodeURIComponent(rec.name)}`;
    } catch (e) {
      showError(e.message);
      status.textContent = '';
      submit.disabled = false;
    }
  });
  view('Create', h('h1', {}, 'Create a VM'),
    h('p', { class: 'muted' }, 'The options of ', h('code', {}, 'fcm create'), '; empty fields take their defaults.'),
    h('div', { class: 'card' }, form));
}

// --- console ----------------------------------------------------------------------

function renderConsole(name, watchOnly) {
  stopPolling();
  const box = h('div', { id: 'term' });
  const status = h('span', { class: 'status muted', id: 'console-status' }, 'connecting…');
  const watch = h('input', { type: 'checkbox', id: 'watch', checked: watchOnly });
  const detach = h('button', { id: 'detach' }, 'Detach');
  const attach = h('button', { id: 'attach', disabled: true }, 'Reattach');
  view(`Console ${name}`,
    h('div', { class: 'console-bar' },
      h('a', { href: `#/app/${encodeURIComponent(name)}` }, `← ${name}`),
      attach, detach, h('label', { class: 'check' }, watch, ' watch only'), status),
    box);
  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, convertEol: false });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  let ws = null;
  const enc = new TextEncoder();

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ rows: term.rows, cols: term.cols, mode: watch.checked ? 'ro' : 'rw' });
    term.reset();
    const sock = new WebSocket(`${proto}//${location.host}${vmPath(name)}/console?${q}`);
    sock.binaryType = 'arraybuffer';
    ws = sock;
    status.textContent = 'connecting…';
    term.focus();
    attach.disabled = true;
    detach.disabled = false;
    sock.onmessage = (ev) => {
      if (typeof ev.data !== 'string') { term.write(new Uint8Array(ev.data)); return; }
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === 'welcome') status.textContent = `attached as ${m.role} (${m.cols}×${m.rows})`;
      else if (m.type === 'role') {
        status.textContent = `attached as ${m.role}`;
        // the keyboard came back to us: the terminal takes our size again
        if (m.role === 'writer') sock.send(JSON.stringify({ type: 'resize', rows: term.rows, cols: term.cols }));
      }
      else if (m.type === 'exit') status.textContent = `the shell exited (${m.status})`;
      else if (m.type === 'error') showError(m.error);
    };
    sock.onclose = (ev) => {
      if (ws === sock) ws = null;
      attach.disabled = false;
      detach.disabled = true;
      if (!status.textContent.startsWith('the shell')) status.textContent = ev.code === 1000 || ev.code === 1005 ? 'detached' : `closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`;
    };
    sock.onerror = () => { status.textContent = 'the console connection failed'; };
  }

  term.onData((d) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(enc.encode(d)); });
  term.onBinary((d) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const b = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) b[i] = d.charCodeAt(i) & 255;
    ws.send(b);
  });
  term.onResize(({ rows, cols }) => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', rows, cols }));
  });
  const onWinResize = () => fit.fit();
  window.addEventListener('resize', onWinResize);
  detach.addEventListener('click', () => {
    if (!ws) return;
    const sock = ws;
    if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ type: 'detach' }));
    sock.close(1000);
    status.textContent = 'detached';
  });
  attach.addEventListener('click', connect);
  watch.addEventListener('change', () => { if (ws) { ws.onclose = null; ws.close(1000); ws = null; } connect(); });
  leaving.push(() => {
    window.removeEventListener('resize', onWinResize);
    if (ws) { ws.onclose = null; ws.close(1000); }
    term.dispose();
  });
  connect();
  term.focus();
}

// --- routing ------------------------------------------------------------------------

async function route() {
  viewSeq++;
  stopPolling();
  for (const f of leaving.splice(0)) { try { f(); } catch { /* gone already */ } }
  if (!session) {
    try { session = await api('GET', '/v1/session'); } catch { session = null; }
  }
  if (!session) { renderSignIn(); return; }
  renderNav();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    if (parts[0] === 'app' && parts[1]) renderApp(parts[1]);
    else if (parts[0] === 'console' && parts[1]) renderConsole(parts[1], parts[2] === 'watch');
    else if (parts[0] === 'create') await renderCreate();
    else renderApps();
  } catch (e) { showError(e.message); }
}

async function start() {
  if (location.pathname === '/login' && location.search) {
    try { await oidcFinish(); } catch (e) { showError(e.message); }
  }
  window.addEventListener('hashchange', () => { showError(''); route(); });
  route();
}

start();
