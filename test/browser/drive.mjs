// test/browser/drive.mjs — drives Debian's chromium (headless, through
// puppeteer-core) over fcm's web dashboard for test/web.bats.  It runs inside
// the test's network namespace, and so does the browser: the only address it
// can reach is the namespace's own Caddy, which the test names with
// --host-resolver-rules (no DNS, no network beyond).
//
//   node drive.mjs SCENARIO
//
// Scenarios (their settings from the environment):
//   lifecycle  sign in with TOKEN, create VM (the create form, --no-wait), see
//              it become running without a reload, console: type a command
//              and see its output, detach, reattach and see the screen
//              restored, a watcher, stop, destroy (typing the name)
//   isolation  sign in with TOKEN (a user): OTHER (another user's VM) is not
//              listed, its pages show the API's 404; ADMIN_TOKEN sees it with
//              its owner
//   security   every page loads with no inline script, no CSP violation;
//              a request of the page without the CSRF token is refused;
//              sign-out ends the session
//   oidc       sign in through the OIDC issuer (test/oidc/provider.js) as
//              OIDC_USER; sign out revokes the session
// Every page it sees is saved as SHOTS/<scenario>-<n>-<what>.png.  Each step
// is printed; a failure says which step and what the page showed.
import puppeteer from 'puppeteer-core';
import { mkdirSync } from 'node:fs';

const scenario = process.argv[2];
const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const URL_ = env('DASH_URL');
const SHOTS = env('SHOTS');
const WAIT = Number(env('WAIT_SECS', '600')) * 1000;
mkdirSync(SHOTS, { recursive: true });

const browser = await puppeteer.launch({
  executablePath: env('CHROMIUM', '/usr/lib/chromium/chromium'),
  headless: true,
  acceptInsecureCerts: true,	// Caddy's internal CA of the test
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-default-apps', '--disable-extensions', '--metrics-recording-only',
    `--host-resolver-rules=${env('RESOLVE')}`,
  ],
});
let shot = 0;
let page;
const violations = [];
const consoleErrors = [];
const failedRequests = [];

function step(msg) { console.log(`# ${scenario}: ${msg}`); }

async function snap(what) {
  const file = `${SHOTS}/${scenario}-${String(++shot).padStart(2, '0')}-${what}.png`;
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot ${file}`);
}

async function newPage(width = 1200, height = 900) {
  const p = await browser.newPage();
  await p.setViewport({ width, height });
  await p.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  p.on('requestfailed', (r) => failedRequests.push(`${r.url()} ${r.failure() ? r.failure().errorText : ''}`));
  p.on('response', (r) => { if (r.status() >= 400) failedRequests.push(`${r.request().method()} ${r.url()} ${r.status()}`); });
  // The dashboard's pages load nothing from elsewhere (the issuer's own
  // pages, in the OIDC sign-in, are the issuer's business).
  p.on('request', (r) => {
    const u = new URL(r.url());
    const from = r.frame() ? r.frame().url() : '';
    if (from.startsWith(URL_) && u.protocol !== 'data:' && u.origin !== new URL(URL_).origin &&
        !u.href.startsWith(process.env.OIDC_ISSUER || '\0'))
      violations.push(`a request outside the dashboard: ${r.url()}`);
  });
  return p;
}

// Chromium abandons a navigation with net::ERR_NETWORK_CHANGED when the
// namespace's addresses change under it (an IPv6 address leaving its
// tentative state, a tap of another VM coming or going): the browser's
// own event, not an answer of fcm.  That one error is retried; any other
// fails the step.
async function go(url, waitUntil = 'load') {
  for (let i = 0; ; i++) {
    try {
      return await page.goto(url, { waitUntil });
    } catch (e) {
      if (i >= 4 || !/net::ERR_NETWORK_CHANGED/.test(e.message)) throw e;
      step(`the browser saw the network change (${url}); again`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function text(sel) {
  return page.$eval(sel, (e) => e.textContent);
}

async function waitText(sel, re, timeout = 30000) {
  try {
    await page.waitForFunction((s, src, flags) => {
      const e = document.querySelector(s);
      return e && new RegExp(src, flags).test(e.textContent);
    }, { timeout, polling: 250 }, sel, re.source, re.flags);
  } catch (e) {
    const now = await page.$eval(sel, (x) => x.textContent).catch(() => '(no such element)');
    const err = await page.$eval('#error', (x) => (x.hidden ? '' : x.textContent)).catch(() => '');
    await snap('failure');
    throw new Error(`waiting for ${sel} to match /${re.source}/: it shows ${JSON.stringify(now.slice(-600))}${err ? `; error box: ${err}` : ''}`);
  }
}

async function signIn(token) {
  await go(URL_);
  await page.waitForSelector('#signin #token');
  await snap('sign-in');
  await page.type('#token', token);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#who');
}

// The terminal's screen as text (xterm.js's DOM renderer: one element per
// row, spaces as no-break spaces).
async function terminalText() {
  return page.$eval('#term .xterm-rows', (e) => [...e.children].map((r) => r.textContent.replace(/\u00a0/g, ' ')).join('\n'));
}

async function waitTerminal(re, timeout = 60000) {
  try {
    await page.waitForFunction((src, flags) => {
      const e = document.querySelector('#term .xterm-rows');
      return e && new RegExp(src, flags).test([...e.children].map((r) => r.textContent.replace(/\u00a0/g, ' ')).join('\n'));
    }, { timeout, polling: 250 }, re.source, re.flags);
  } catch {
    await snap('failure');
    throw new Error(`the terminal never showed /${re.source}/; it shows:\n${await terminalText().catch(() => '?')}`);
  }
}

async function noInlineScript() {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const s of document.querySelectorAll('script')) if (!s.src || s.textContent.trim()) out.push('an inline <script>');
    for (const e of document.querySelectorAll('*'))
      for (const a of e.attributes) if (/^on/i.test(a.name) || /^\s*javascript:/i.test(a.value)) out.push(`${e.tagName} ${a.name}`);
    return out.concat(window.__csp || []);
  });
  if (bad.length) throw new Error(`inline script or CSP violations on ${page.url()}: ${bad.join(', ')}`);
}

async function lifecycle() {
  const vm = env('VM');
  page = await newPage();
  step('sign in');
  await signIn(env('TOKEN'));
  await page.waitForSelector('#vms');
  await snap('apps-empty');

  step('create (the form of fcm create)');
  await page.click('#nav-create');
  await page.waitForSelector('#create-form #opt-name');
  await page.type('#opt-name', vm);
  await page.type('#opt-memory', '512');
  await page.click('#opt-no-wait');
  await snap('create');
  await page.click('#create');
  await page.waitForFunction((n) => location.hash === `#/app/${n}`, { timeout: 120000 }, vm);
  step('the app page: waiting for running, without a reload');
  await page.evaluate(() => { window.__noReload = 'still here'; });
  await waitText('#facts', /running/, WAIT);
  if (await page.evaluate(() => window.__noReload) !== 'still here') throw new Error('the page reloaded');
  await page.waitForFunction(() => document.querySelector('#git-remote'), { timeout: 30000 });
  await snap('app-running');

  step('the apps list shows it running');
  await page.click('a[href="#/"]');
  await waitText(`tr[data-vm="${vm}"] .state`, /^running$/);
  await snap('apps');

  step('console: type a command, see its output');
  await go(`${URL_}/#/console/${vm}`);
  await waitText('#console-status', /attached as writer/, WAIT);	// the guest's sshd is up
  await waitTerminal(/[#$] *$/m, WAIT);	// a prompt
  await page.click('#term');
  await page.keyboard.type('echo web-$((6*7))-ok\n');
  await waitTerminal(/web-42-ok/);
  await snap('console');

  step('a second page watching: read-only, same screen');
  const writer = page;
  page = await newPage(390, 844);	// a phone
  await go(`${URL_}/#/console/${vm}/watch`);
  await waitText('#console-status', /attached as watcher/, 60000);
  if (!(await page.$eval('#watch', (c) => c.checked))) throw new Error('the watch page is not read-only');
  await waitTerminal(/web-42-ok/);
  await snap('console-watcher-phone');
  await page.close();
  page = writer;

  step('detach, then reattach: the screen is restored');
  await page.click('#detach');
  await waitText('#console-status', /detached/);
  await page.evaluate(() => { document.querySelector('#term .xterm-rows').dataset.marker = 'old'; });
  await page.click('#attach');
  await waitText('#console-status', /attached as writer/, 60000);
  await waitTerminal(/web-42-ok/);
  await snap('console-reattached');
  await page.click('#term');
  await page.keyboard.type('echo again-$((7*6))\n');
  await waitTerminal(/again-42/);

  step('stop from the app page');
  await go(`${URL_}/#/app/${vm}`);
  await waitText('#facts', /running/);
  await page.waitForSelector('#stop:not([disabled])');
  await page.click('#stop');
  await waitText('#facts', /stopped/, WAIT);
  await snap('app-stopped');

  step('destroy, typing the name');
  await page.waitForSelector('#destroy:not([disabled])');
  await page.click('#destroy');
  await page.waitForSelector('#destroy-dialog #confirm-name');
  await page.type('#confirm-name', vm.slice(0, -1));
  if (!(await page.$eval('#confirm-destroy', (b) => b.disabled))) throw new Error('destroy was possible with the wrong name');
  await page.type('#confirm-name', vm.slice(-1));
  await snap('destroy-confirm');
  await page.click('#confirm-destroy');
  await page.waitForFunction(() => location.hash === '#/' || location.hash === '', { timeout: WAIT });
  await page.waitForSelector('#vms');
  await page.waitForFunction((n) => !document.querySelector(`tr[data-vm="${n}"]`), { timeout: 30000 }, vm);
  await snap('apps-after-destroy');
}

async function isolation() {
  const other = env('OTHER');
  page = await newPage();
  step('a user signs in: the other user\'s VM is not listed');
  await signIn(env('TOKEN'));
  await page.waitForSelector('#vms');
  await waitText('#vms tbody', new RegExp(env('OWN')));
  if (await page.$(`tr[data-vm="${other}"]`)) throw new Error(`${other} is listed for a user who does not own it`);
  if (await page.$('#vms .owner')) throw new Error('a user sees an owner column');
  await snap('apps-user');
  step('at phone width the list fits the screen');
  await page.setViewport({ width: 390, height: 844 });
  await waitText('#vms tbody', new RegExp(env('OWN')));
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) throw new Error(`at 390 px wide the apps page is ${wide} px wide`);
  await snap('apps-phone');
  await page.setViewport({ width: 1200, height: 900 });
  step('its app page shows the API\'s 404');
  await go(`${URL_}/#/app/${other}`);
  await waitText('#error', new RegExp(`no VM named '${other}'`));
  await snap('app-other-404');
  step('its console shows the API\'s 404');
  await go(`${URL_}/#/console/${other}`);
  await waitText('#console-status', /closed|failed|detached/, 30000);
  const seen = await page.evaluate(async (o) => {
    const r = await fetch(`/v1/vms/${o}`);
    return `${r.status} ${(await r.json()).error}`;
  }, other);
  if (seen !== `404 no VM named '${other}' (see 'fcm ls')`) throw new Error(`GET /v1/vms/${other} answered ${seen}`);
  await snap('console-other');
  step('an admin sees it, with its owner');
  await page.click('#signout');
  await page.waitForSelector('#signin');
  await signIn(env('ADMIN_TOKEN'));
  await waitText(`tr[data-vm="${other}"] .owner`, new RegExp(env('OTHER_OWNER')));
  await snap('apps-admin');
}

async function security() {
  page = await newPage();
  step('sign-in page: no inline script, no CSP violation');
  await signIn(env('TOKEN'));
  for (const where of ['#/', '#/create', `#/app/${env('OWN')}`]) {
    await go(`${URL_}/${where}`, 'networkidle0');
    await page.waitForSelector('#who');
    await noInlineScript();
  }
  await snap('create-checked');
  step('every page fits a phone-width screen');
  await page.setViewport({ width: 390, height: 844 });
  for (const [where, what] of [['#/create', 'create-phone'], [`#/app/${env('OWN')}`, 'app-phone']]) {
    await go(`${URL_}/${where}`, 'networkidle0');
    await page.waitForSelector('#who');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > 390) throw new Error(`at 390 px wide ${where} is ${wide} px wide`);
    await snap(what);
  }
  await page.setViewport({ width: 1200, height: 900 });
  step('the page\'s own request without the CSRF token is refused');
  const res = await page.evaluate(async (vm) => {
    const r = await fetch(`/v1/vms/${vm}/stop`, { method: 'POST' });
    return `${r.status} ${(await r.json()).error}`;
  }, env('OWN'));
  if (!/^403 the request lacks the session's CSRF token/.test(res)) throw new Error(`a POST without the CSRF token answered ${res}`);
  step('the session cookie is HttpOnly: the page cannot read it');
  if (await page.evaluate(() => document.cookie.includes('fcm_session'))) throw new Error('the page can read the session cookie');
  const cookies = await page.cookies();
  const c = cookies.find((x) => x.name === 'fcm_session');
  if (!c || !c.httpOnly || !c.secure || c.sameSite !== 'Strict') throw new Error(`the session cookie is ${JSON.stringify(c)}`);
  step('sign-out ends the session');
  await page.click('#signout');
  await page.waitForSelector('#signin');
  const after = await page.evaluate(async () => (await fetch('/v1/vms')).status);
  if (after !== 401) throw new Error(`after sign-out GET /v1/vms answered ${after}`);
  await snap('signed-out');
}

async function oidc() {
  page = await newPage();
  step('sign in through the OIDC issuer');
  await go(URL_);
  await page.waitForSelector('#oidc-signin');
  await page.click('#oidc-signin');
  // oidc-provider's development pages: login, then consent
  await page.waitForSelector('input[name=login]', { timeout: 30000 });
  await snap('issuer-login');
  await page.type('input[name=login]', env('OIDC_USER'));
  await page.type('input[name=password]', 'any');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (await page.$('button[type=submit]') && !(await page.$('#who'))) {
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  }
  await page.waitForSelector('#who', { timeout: 30000 });
  await waitText('#who', new RegExp(env('OIDC_ID')));
  await page.waitForSelector('#vms');
  await snap('apps-oidc');
  step('sign out');
  await page.click('#signout');
  await page.waitForSelector('#signin');
}

const scenarios = { lifecycle, isolation, security, oidc };
let status = 0;
try {
  if (!scenarios[scenario]) throw new Error(`no scenario '${scenario}'`);
  await scenarios[scenario]();
  if (violations.length) throw new Error(violations.join('; '));
  step('ok');
} catch (e) {
  console.log(`# ${scenario}: FAILED: ${e.message}`);
  if (page) {
    console.log(`# the page was ${page.url()}`);
    await snap('failed').catch(() => {});
  }
  if (failedRequests.length) console.log(`# failed requests: ${failedRequests.join(' | ')}`);
  if (consoleErrors.length) console.log(`# the pages' console errors: ${consoleErrors.join(' | ')}`);
  status = 1;
}
await browser.close();
process.exit(status);
