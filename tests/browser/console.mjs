// Real-browser test of plsc-console's pages: Debian's chromium driven by
// playwright-core (never a downloaded browser). Run by
// tests/integration/t41-console-browser.t, which starts the supervisor, the
// console, a recording printer and a held job, and passes everything in the
// environment:
//   CS_URL            the console, https://127.0.0.1:PORT
//   CS_ADMIN, CS_PASSWORD   an administrator
//   SHOT_DIR          where the screenshots go (01-login.png, ...)
//   JOB_ID, JOB_USER, JOB_FILE   the held job, its owner, the file submitted
//   JOB_PRINTER, JOB_PRINTER_URI, REC_DIR   the printer to release to, its
//                     URI, and the recording printer's directory
//   SECURE_ID, SECURE_PRINTER, SECURE_FILE, SECURE_REC_DIR   a secure job
//                     (submitted for SECURE_PRINTER, which sorts before
//                     JOB_PRINTER), its file, that printer's recorder
//   TOGGLE            the service to switch off and on
//   HOLDER            the held-jobs service (switched off once: the Held
//                     jobs page must say its jobs are not listed)
//   DIR_USER          a user in the directory (the Users page)
//   READER, READER_ADDRESS   a badge reader (rfideas-e241, mode all, at
//                     JOB_PRINTER) and its address: edited in place
//   JOB_WORKSTATION   the workstation the held jobs came from
//   SUBMIT, SUBMIT_SERVER, SUBMIT_TOKEN   plsc-submit, the held-jobs
//                     service's address and a workstation token: more
//                     jobs than a page holds, for the pager
//   BULKSUBMIT, BULK_JOBS   tests/lib/bulksubmit.c and how many jobs it
//                     holds (from one process) for the pager at scale
//   PLSC, PLSC_CONF   `$PLSC -c $PLSC_CONF status --json` is the supervisor's
//                     own view, checked after each switch
//   CHROMIUM          the browser (default /usr/bin/chromium)
//   TAP_START         the number of the first result (default 1)
//   TIMEOUT_SCALE     multiplies every timeout (sanitizer builds are slower)
// Prints TAP results ("ok N - ...") without a plan (the wrapper prints it;
// `node console.mjs --count` prints how many results there are). Exits 1 if
// any check failed. Every wait is bounded.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const SCALE = Math.max(1, Number(env.TIMEOUT_SCALE) || 1);
const SHORT = 5000 * SCALE;   // a page reacting to a click, a switch in plsc status
// Job listings and releases go through the supervisor to every job-holding
// service, which it waits up to 5 s for at each step, so they get more.
const JOBS = 20000 * SCALE;

/* ---------- checks: a fixed list, so the count is known up front ---------- */

const checks = [];
// check(description, fn, critical): a critical failure means the page is
// unusable; the checks after it are reported as failed without running.
function check(desc, fn, critical = false) {
  checks.push({ desc, fn, critical });
}

let n = Number(env.TAP_START) || 1;
let failed = 0;
const diag = (msg) => {
  for (const line of String(msg).split('\n')) console.log(`# ${line}`);
};

/* ---------- helpers ---------- */

function need(name) {
  const v = env[name];
  if (v === undefined || v === '') throw new Error(`environment variable ${name} is not set`);
  return v;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function plscStatus() {
  return new Promise((resolve, reject) => {
    execFile(need('PLSC'), ['-c', need('PLSC_CONF'), 'status', '--json'],
      { timeout: SHORT, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`plsc status --json failed: ${err.message} ${stderr}`));
        else {
          try { resolve(JSON.parse(stdout)); } catch (e) { reject(new Error(`plsc status --json: ${e.message}`)); }
        }
      });
  });
}

function plsc(...args) {
  return new Promise((resolve, reject) => {
    execFile(need('PLSC'), ['-c', need('PLSC_CONF'), ...args], { timeout: SHORT },
      (err, stdout, stderr) => (err ? reject(new Error(`plsc ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
  });
}

// Holds one job of USER (plsc-submit); resolves to its id.
function submitJob(user, file) {
  return new Promise((resolve, reject) => {
    execFile(need('SUBMIT'), ['--server', need('SUBMIT_SERVER'), '--token-file', need('SUBMIT_TOKEN'),
      '--user', user, '--insecure', '--timeout', '20', file], { timeout: JOBS },
    (err, stdout, stderr) => (err ? reject(new Error(`plsc-submit: ${stderr}`)) : resolve(stdout.trim())));
  });
}

// Holds `count` small jobs of USER from one process (plsc-bulksubmit, a few
// TLS connections), far faster than a plsc-submit each; resolves to its
// "N jobs held in T ms".
function bulkSubmit(user, count) {
  const [host, port] = need('SUBMIT_SERVER').split(':');
  return new Promise((resolve, reject) => {
    execFile(need('BULKSUBMIT'), [host, port, need('SUBMIT_TOKEN'), user, String(count)],
      { timeout: 120000 * SCALE },
      (err, stdout, stderr) => (err ? reject(new Error(`plsc-bulksubmit: ${stderr}`)) : resolve(stdout.trim())));
  });
}

// Clicks a download link and returns the downloaded file's text.
async function download(sel) {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: SHORT }),
    page.click(sel, { timeout: SHORT }),
  ]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

async function plscService(name) {
  const st = await plscStatus();
  return (st.services || []).find((s) => s.name === name) || null;
}

// Polls pred(service as plsc status shows it) until true or `ms` pass.
async function waitPlsc(name, pred, ms, what) {
  const end = Date.now() + ms;
  let last = null;
  for (;;) {
    last = await plscService(name);
    if (last && pred(last)) return last;
    if (Date.now() > end) {
      throw new Error(`plsc status: ${name} is not ${what} after ${ms} ms; last seen ` +
        JSON.stringify(last && { enabled: last.enabled, state: last.state, pid: last.pid }));
    }
    await sleep(100);
  }
}

async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} (waited ${ms} ms)`);
    await sleep(100);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/* ---------- the browser session ---------- */

let browser = null;
let page = null;
const pageErrors = [];
const dialogs = [];
let shotN = 0;

async function shot(name) {
  shotN++;
  const file = join(need('SHOT_DIR'), `${String(shotN).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: SHORT });
}

const row = (table, attr, key) => page.locator(`table#${table} tbody tr[data-${attr}="${key}"]`);
const svcRow = (name) => row('services-table', 'service', name);

async function visible(sel) {
  return page.locator(sel).isVisible();
}

// The text and the kind of #flash read in one step: read apart, a message
// that changes in between pairs the old text with the new kind.
async function flashNow() {
  const f = page.locator('#flash');
  if (!(await f.isVisible())) return null;
  return f.evaluate((e) => ({ text: (e.textContent || '').trim(), error: e.classList.contains('error') }));
}

// Runs action (a click), then waits for #flash to show a new message; fails
// on an error message or one not matching `re`.
async function clickForFlash(action, re, ms) {
  const prev = await flashNow();
  await action();
  const f = await waitFor(async () => {
    const now = await flashNow();
    return now && (!prev || now.text !== prev.text || now.error !== prev.error) ? now : null;
  }, ms, `#flash shows no new message (it still says '${prev ? prev.text : ''}')`);
  assert(!f.error, `#flash shows an error: ${f.text}`);
  assert(re.test(f.text), `#flash says '${f.text}', expected ${re}`);
  return f.text;
}

async function gotoPage(name) {
  await page.locator(`a[data-page="${name}"]`).click({ timeout: SHORT });
  await page.locator(`#page-${name}`).waitFor({ state: 'visible', timeout: SHORT });
}

// Waits until the Toggle row shows state `st` and enabled `en` ("yes"/"no").
async function rowShows(name, st, en, ms) {
  const r = svcRow(name);
  await waitFor(async () => {
    const s = (await r.locator('td.state').textContent({ timeout: ms }))?.trim();
    const e = (await r.locator('td.enabled').textContent({ timeout: ms }))?.trim();
    return s === st && e === en;
  }, ms, `the ${name} row does not show state ${st}, enabled ${en}`);
}

/* ---------- the checks ---------- */

const ADMIN = env.CS_ADMIN || 'alice';
const TOGGLE = env.TOGGLE || 'Toggle';

check('a new visitor gets the login form, not the app', async () => {
  const resp = await page.goto(need('CS_URL'), { timeout: SHORT * 2 });
  assert(resp && resp.status() === 200, `GET / answered ${resp && resp.status()}`);
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: SHORT });
  assert(!(await visible('#app')), '#app is visible before logging in');
  assert(!(await visible('#login-error')), '#login-error is shown before any attempt');
}, true);

check('a wrong password shows a message in #login-error and stays on the login form', async () => {
  await page.fill('#login-username', ADMIN, { timeout: SHORT });
  await page.fill('#login-password', 'not-the-password-at-all', { timeout: SHORT });
  await page.click('#login-submit', { timeout: SHORT });
  const err = page.locator('#login-error');
  await err.waitFor({ state: 'visible', timeout: SHORT });
  const text = ((await err.textContent()) || '').trim();
  assert(text !== '', '#login-error is visible but empty');
  diag(`login error: ${text}`);
  assert(!(await visible('#app')), '#app is visible after a wrong password');
  await shot('login');
});

check(`the right password logs ${ADMIN} in: the app shows, the login form hides`, async () => {
  await page.fill('#login-username', ADMIN, { timeout: SHORT });
  await page.fill('#login-password', need('CS_PASSWORD'), { timeout: SHORT });
  await page.click('#login-submit', { timeout: SHORT });
  await page.locator('#app').waitFor({ state: 'visible', timeout: SHORT });
  assert(!(await visible('#login')), '#login is still visible');
  const who = ((await page.textContent('#whoami', { timeout: SHORT })) || '').trim();
  assert(who === ADMIN, `#whoami says '${who}'`);
  assert(!(await visible('#login-error')), '#login-error is still shown');
}, true);

check(`the Services page lists every service, ${TOGGLE} running and enabled`, async () => {
  await page.locator('#page-services').waitFor({ state: 'visible', timeout: SHORT });
  for (const s of ['PrinterLogicServiceOfflinePrint', 'plsc-console', TOGGLE]) {
    await svcRow(s).waitFor({ state: 'visible', timeout: SHORT });
  }
  await rowShows(TOGGLE, 'running', 'yes', SHORT);
  const info = ((await page.textContent('#supervisor-info')) || '').trim();
  assert(/Supervisor/.test(info), `#supervisor-info says '${info}'`);
  await shot('services');
});

check(`${TOGGLE}'s Off button switches it off: plsc status shows it disabled and not running`, async () => {
  const btn = svcRow(TOGGLE).locator('button[data-action="disable"]');
  assert(await btn.isEnabled({ timeout: SHORT }), 'the Off button is disabled');
  const msg = await clickForFlash(() => btn.click({ timeout: SHORT }), new RegExp(`${TOGGLE}.*disabled`), SHORT);
  diag(`#flash: ${msg}`);
  const s = await waitPlsc(TOGGLE, (x) => x.enabled === false && x.state !== 'running' && x.pid === null,
    SHORT, 'disabled and stopped');
  diag(`plsc status: ${TOGGLE} enabled=${s.enabled} state=${s.state}`);
}, true);

check(`the page shows ${TOGGLE} disabled, its On button enabled`, async () => {
  await rowShows(TOGGLE, 'disabled', 'no', SHORT);
  const on = svcRow(TOGGLE).locator('button[data-action="enable"]');
  await waitFor(() => on.isEnabled(), SHORT, 'the On button is not enabled');
  await shot('services-toggle-off');
});

// plsc status gives a stopped service "pid": null and "uptime_ms": null; the
// page must not show a PID 0 and an uptime of 0 s for it.
check(`the disabled ${TOGGLE} shows no PID and no uptime`, async () => {
  const r = svcRow(TOGGLE);
  const pid = ((await r.locator('td.pid').textContent({ timeout: SHORT })) || '').trim();
  const up = ((await r.locator('td.uptime').textContent({ timeout: SHORT })) || '').trim();
  const api = await page.evaluate(async (name) => {
    const d = await (await fetch('/api/v1/services', { cache: 'no-store' })).json();
    const s = (d.services || []).find((x) => x.name === name) || {};
    return { pid: s.pid, uptime_ms: s.uptime_ms };
  }, TOGGLE);
  assert(pid === '' && up === '',
    `the row shows PID '${pid}', uptime '${up}'; GET /api/v1/services says ${JSON.stringify(api)}`);
});

check(`${TOGGLE}'s On button switches it back on: plsc status shows it enabled and running`, async () => {
  const btn = svcRow(TOGGLE).locator('button[data-action="enable"]');
  const msg = await clickForFlash(() => btn.click({ timeout: SHORT }), new RegExp(`${TOGGLE}.*enabled`), SHORT);
  diag(`#flash: ${msg}`);
  const s = await waitPlsc(TOGGLE, (x) => x.enabled === true && x.state === 'running' && x.pid !== null,
    SHORT, 'enabled and running');
  diag(`plsc status: ${TOGGLE} enabled=${s.enabled} state=${s.state} pid=${s.pid}`);
}, true);

check(`the page shows ${TOGGLE} running again`, async () => {
  // The page polls every 2 s: "starting" right after the click, then "running".
  await rowShows(TOGGLE, 'running', 'yes', SHORT);
  const off = svcRow(TOGGLE).locator('button[data-action="disable"]');
  await waitFor(() => off.isEnabled(), SHORT, 'the Off button is not enabled');
  await shot('services-toggle-on');
});

check('the Held jobs page lists the job with its owner and a printer to release to', async () => {
  await gotoPage('jobs');
  const r = row('jobs-table', 'job', need('JOB_ID'));
  await r.waitFor({ state: 'visible', timeout: JOBS });
  const owner = ((await r.locator('td').nth(0).textContent()) || '').trim();
  assert(owner === need('JOB_USER'), `the owner cell says '${owner}'`);
  const opts = await r.locator('select.release-printer option').evaluateAll((os) => os.map((o) => o.value));
  assert(opts.includes(need('JOB_PRINTER')), `the printer choices are ${JSON.stringify(opts)}`);
  await shot('jobs');
}, true);

check('the job\'s row shows its workstation, and its source by a name, not the service\'s', async () => {
  const r = row('jobs-table', 'job', need('JOB_ID'));
  const ws = ((await r.locator('td.workstation').textContent()) || '').trim();
  assert(ws === need('JOB_WORKSTATION'), `the workstation cell says '${ws}'`);
  const head = await page.locator('table#jobs-table thead th').nth(1).textContent();
  assert(/workstation/i.test(head || ''), `the second column is '${head}'`);
  const src = ((await r.locator('td.source').textContent()) || '').trim();
  assert(src === 'Workstations (OfflinePrint)', `the source cell says '${src}'`);
});

check('a pull job\'s printer select starts empty, and Release is disabled until one is chosen', async () => {
  const r = row('jobs-table', 'job', need('JOB_ID'));
  const sel = r.locator('select.release-printer');
  const btn = r.locator('button[data-action="release"]');
  assert(await sel.isVisible(), 'the pull job has no printer select');
  const first = await sel.locator('option').first().evaluate((o) => ({ value: o.value, text: o.textContent }));
  assert(first.value === '' && /choose/i.test(first.text), `the first option is ${JSON.stringify(first)}`);
  const v = await sel.inputValue();
  assert(v === '', `the select starts at '${v}' (a click would print there)`);
  assert(await btn.isDisabled(), 'Release is enabled with no printer chosen');
  await sel.selectOption(need('SECURE_PRINTER'), { timeout: SHORT });
  await waitFor(() => btn.isEnabled(), SHORT, 'Release stays disabled after a printer is chosen');
  await sel.selectOption('', { timeout: SHORT });
  await waitFor(() => btn.isDisabled(), SHORT, 'Release is enabled again with the empty choice');
});

check('a secure job shows its own printer, fixed, and no printer choice', async () => {
  const r = row('jobs-table', 'job', need('SECURE_ID'));
  await r.waitFor({ state: 'visible', timeout: JOBS });
  const fixed = ((await r.locator('span.release-fixed').textContent()) || '').trim();
  assert(fixed === need('SECURE_PRINTER'), `the fixed printer says '${fixed}'`);
  assert(!(await r.locator('select.release-printer').isVisible()), 'a printer select is shown');
  assert(await r.locator('button[data-action="release"]').isEnabled(), 'Release is disabled');
  assert(await r.locator('input.release-override').isVisible(), 'no override control');
});

check(`Release to ${env.JOB_PRINTER} prints exactly the job's bytes, once`, async () => {
  const r = row('jobs-table', 'job', need('JOB_ID'));
  await r.locator('select.release-printer').selectOption(need('JOB_PRINTER'), { timeout: SHORT });
  const before = existsSync(join(need('REC_DIR'), 'job-1.bin'));
  assert(!before, 'the printer has a job before the release');
  // The button is disabled while the request runs; the answer shows in #flash.
  const msg = await clickForFlash(() => r.locator('button[data-action="release"]').click({ timeout: SHORT }),
    new RegExp(need('JOB_PRINTER')), JOBS);
  diag(`#flash: ${msg}`);
  const printed = join(need('REC_DIR'), 'job-1.bin');
  await waitFor(() => existsSync(printed), SHORT, `${printed} was not written`);
  const want = readFileSync(need('JOB_FILE'));
  // The release answers once the printer took the job: the bytes are all there.
  await waitFor(() => readFileSync(printed).equals(want), SHORT,
    `${printed} differs from the submitted file (${readFileSync(printed).length} bytes, want ${want.length})`);
  const jobs = readdirSync(need('REC_DIR')).filter((f) => /^job-\d+\.bin$/.test(f));
  assert(jobs.length === 1, `the printer received ${jobs.length} jobs: ${jobs.join(' ')}`);
});

check(`the secure job's Release prints it at ${env.SECURE_PRINTER}, its own printer`, async () => {
  const r = row('jobs-table', 'job', need('SECURE_ID'));
  const msg = await clickForFlash(() => r.locator('button[data-action="release"]').click({ timeout: SHORT }),
    new RegExp(`released 1 job to ${need('SECURE_PRINTER')}`), JOBS);
  diag(`#flash: ${msg}`);
  const printed = join(need('SECURE_REC_DIR'), 'job-1.bin');
  await waitFor(() => existsSync(printed) && readFileSync(printed).equals(readFileSync(need('SECURE_FILE'))),
    SHORT, `${printed} is not the secure job`);
});

check('the released jobs\' rows disappear from Held jobs', async () => {
  const r = row('jobs-table', 'job', need('JOB_ID'));
  await r.waitFor({ state: 'detached', timeout: JOBS });
  await row('jobs-table', 'job', need('SECURE_ID')).waitFor({ state: 'detached', timeout: JOBS });
  await page.locator('table#jobs-table tbody tr.empty').waitFor({ state: 'visible', timeout: JOBS });
  await shot('jobs-released');
});

check('with the held-jobs service off, Held jobs says its jobs are not listed', async () => {
  const holder = need('HOLDER');
  const banner = page.locator('#jobs-unavailable');
  await plsc('disable', holder);
  await waitFor(async () => {
    await page.click('#jobs-refresh', { timeout: SHORT });
    return banner.isVisible();
  }, JOBS, 'no banner about the missing holder');
  const text = (await banner.textContent()) || '';
  assert(text.includes(holder) && /incomplete/.test(text), `the banner says '${text}'`);
  await plsc('enable', holder);
  await waitFor(async () => ((await plscService(holder)) || {}).state === 'running', JOBS,
    `${holder} did not run again`);
  await waitFor(async () => {
    await page.click('#jobs-refresh', { timeout: SHORT });
    return !(await banner.isVisible());
  }, JOBS, 'the banner stays after the holder is back');
});

check('with more held jobs than a page holds, Previous and Next page through them', async () => {
  const file = join(need('SHOT_DIR'), '..', 'pager-job.txt');
  writeFileSync(file, 'a job for the pager\n');
  const user = 'pager';
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push(await submitJob(user, file));
  await page.fill('#jobs-user', user, { timeout: SHORT });
  await page.selectOption('#jobs-per-page', '10', { timeout: SHORT });
  const rows = page.locator('table#jobs-table tbody tr[data-job]');
  const info = page.locator('#jobs-page-info');
  await waitFor(async () => (await rows.count()) === 10 && /of 12\b/.test((await info.textContent()) || ''),
    JOBS, 'the first page does not show 10 of the 12 jobs');
  assert(await visible('#jobs-pager'), 'no pager with 12 jobs at 10 a page');
  assert(await page.locator('#jobs-prev').isDisabled(), 'Previous is enabled on the first page');
  const first = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
  assert(first.join() === ids.slice(0, 10).join(), `page 1 shows ${first.join()}, want the 10 oldest`);
  await page.click('#jobs-next', { timeout: SHORT });
  await waitFor(async () => (await rows.count()) === 2, SHORT, 'page 2 does not show the last 2 jobs');
  const second = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
  assert(second.join() === ids.slice(10).join(), `page 2 shows ${second.join()}`);
  assert(await page.locator('#jobs-next').isDisabled(), 'Next is enabled on the last page');
  const text = ((await info.textContent()) || '').trim();
  assert(/^11\u201312 of 12 \(page 2 of 2\)$/.test(text), `the pager says '${text}'`);
  await page.click('#jobs-prev', { timeout: SHORT });
  await waitFor(async () => (await rows.count()) === 10, SHORT, 'Previous does not go back to page 1');
  await page.selectOption('#jobs-per-page', '100', { timeout: SHORT });
  await waitFor(async () => (await rows.count()) === 12 && !(await visible('#jobs-pager')), SHORT,
    'at 100 a page the 12 jobs are not on one page without a pager');
  await page.fill('#jobs-user', '', { timeout: SHORT });
});

check('the Logs page shows the supervisor\'s log in pre#log-text, with the switches', async () => {
  await gotoPage('logs');
  await page.locator('#log-service option[value="plsc-supervisor"]').waitFor({ state: 'attached', timeout: SHORT });
  await page.selectOption('#log-service', 'plsc-supervisor', { timeout: SHORT });
  const pre = page.locator('pre#log-text');
  const want = `${TOGGLE}: disabled by control request`;
  await waitFor(async () => ((await pre.textContent()) || '').includes(want), SHORT,
    `pre#log-text does not contain '${want}'`);
  await shot('logs');
});

check('the Users page lists the directory\'s user', async () => {
  await gotoPage('users');
  const r = row('users-table', 'user', need('DIR_USER'));
  await r.waitFor({ state: 'visible', timeout: SHORT });
  const name = ((await r.locator('td').nth(0).textContent()) || '').trim();
  assert(name === need('DIR_USER'), `the user cell says '${name}'`);
  await shot('users');
});

check('Export CSV on the Users page downloads users.csv with its header row and the user', async () => {
  const f = await download('#users-export');
  const lines = f.text.split('\r\n');
  assert(f.name === 'users.csv', `the file is named '${f.name}'`);
  assert(lines[0] === 'username,display_name,emails,groups,badges,has_pin,source', `the header row is '${lines[0]}'`);
  assert(lines.some((l) => l.startsWith(`${need('DIR_USER')},`)), `no row for ${need('DIR_USER')}: ${JSON.stringify(lines)}`);
});

check(`the Printers page lists ${env.JOB_PRINTER} with its URI`, async () => {
  await gotoPage('printers');
  const r = row('printers-table', 'printer', need('JOB_PRINTER'));
  await r.waitFor({ state: 'visible', timeout: SHORT });
  const uri = ((await r.locator('td').nth(1).textContent()) || '').trim();
  assert(uri === need('JOB_PRINTER_URI'), `the URI cell says '${uri}'`);
  await shot('printers');
});

check(`Edit on ${env.JOB_PRINTER}'s row saves a new location, shown after a reload and in plsc`, async () => {
  const name = need('JOB_PRINTER');
  const loc = 'Room 101, "east" wing';
  await row('printers-table', 'printer', name).locator('button[data-action="edit"]').click({ timeout: SHORT });
  assert((await page.inputValue('#printer-name')) === name, 'the form does not hold the printer\'s name');
  assert((await page.inputValue('#printer-uri')) === need('JOB_PRINTER_URI'), 'the form does not hold its URI');
  assert(await page.locator('#printer-name').evaluate((e) => e.readOnly), 'the name can be changed');
  await page.fill('#printer-location', loc, { timeout: SHORT });
  await clickForFlash(() => page.click('#printer-submit', { timeout: SHORT }), new RegExp(name), SHORT);
  await page.reload({ timeout: SHORT * 2 });
  await page.locator('#app').waitFor({ state: 'visible', timeout: SHORT });
  await gotoPage('printers');
  const r = row('printers-table', 'printer', name);
  await waitFor(async () => ((await r.locator('td').nth(2).textContent()) || '').trim() === loc, SHORT,
    'the location cell does not show the new location after a reload');
  const listed = JSON.parse(await plsc('printers', 'list', '--json'));
  const p = (listed.printers || []).find((x) => x.name === name) || {};
  assert(p.location === loc && p.uri === need('JOB_PRINTER_URI'),
    `plsc printers list says ${JSON.stringify(p)}`);
});

check('a refused edit (a bad URI) shows the error and changes nothing', async () => {
  const name = need('JOB_PRINTER');
  await row('printers-table', 'printer', name).locator('button[data-action="edit"]').click({ timeout: SHORT });
  await page.fill('#printer-uri', 'ftp://nowhere', { timeout: SHORT });
  await page.click('#printer-submit', { timeout: SHORT });
  const f = await waitFor(async () => { const x = await flashNow(); return x && x.error ? x : null; }, SHORT,
    '#flash shows no error');
  diag(`#flash: ${f.text}`);
  await page.click('#printer-cancel', { timeout: SHORT });
  const uri = ((await row('printers-table', 'printer', name).locator('td').nth(1).textContent()) || '').trim();
  assert(uri === need('JOB_PRINTER_URI'), `the URI cell says '${uri}'`);
});

check(`Edit on badge reader ${env.READER}'s row saves its fields in place, shown after a reload and in plsc`, async () => {
  const name = need('READER');
  const r = row('readers-table', 'reader', name);
  await r.waitFor({ state: 'visible', timeout: SHORT });
  await r.locator('button[data-action="edit"]').click({ timeout: SHORT });
  assert((await page.inputValue('#reader-name')) === name, 'the form does not hold the reader\'s name');
  assert(await page.locator('#reader-name').evaluate((e) => e.readOnly), 'the name can be changed');
  assert((await page.inputValue('#reader-address')) === need('READER_ADDRESS'), 'the form does not hold its address');
  assert((await page.inputValue('#reader-preset')) === 'rfideas-e241', 'the form does not show its preset');
  assert((await page.inputValue('#reader-mode')) === 'all', 'the form does not show its mode');
  const title = ((await page.textContent('#reader-form-title')) || '').trim();
  assert(title === `Edit badge reader ${name}`, `the form's title is '${title}'`);
  await page.fill('#reader-address', '127.0.0.42', { timeout: SHORT });
  await page.selectOption('#reader-printer', need('SECURE_PRINTER'), { timeout: SHORT });
  await page.selectOption('#reader-preset', 'elatec-tcpconv2', { timeout: SHORT });
  await page.selectOption('#reader-mode', 'most-recent', { timeout: SHORT });
  await clickForFlash(() => page.click('#reader-submit', { timeout: SHORT }), new RegExp(`reader ${name} saved`), SHORT);
  assert(!(await visible('#reader-cancel')), 'the form is still in edit mode after saving');
  await page.reload({ timeout: SHORT * 2 });
  await page.locator('#app').waitFor({ state: 'visible', timeout: SHORT });
  await gotoPage('printers');
  await waitFor(async () => {
    const t = await r.locator('td').evaluateAll((tds) => tds.map((td) => td.textContent.trim()));
    return t[1] === '127.0.0.42' && t[4] === need('SECURE_PRINTER') && t[5] === 'most-recent';
  }, SHORT, 'the row does not show the new address, printer and mode after a reload');
  const listed = JSON.parse(await plsc('readers', 'list', '--json'));
  const got = (listed.readers || []).filter((x) => x.name === name);
  assert(got.length === 1 && listed.readers.length === 1, `plsc readers list says ${JSON.stringify(listed)}`);
  const x = got[0];
  assert(x.address === '127.0.0.42' && x.printer === need('SECURE_PRINTER') && x.mode === 'most-recent' &&
    JSON.parse(x.format).preset === 'elatec-tcpconv2', `plsc readers list says ${JSON.stringify(x)}`);
  await shot('reader-edited');
});

check('a refused reader edit (listen without a port) shows the error and changes nothing', async () => {
  const name = need('READER');
  const r = row('readers-table', 'reader', name);
  await r.locator('button[data-action="edit"]').click({ timeout: SHORT });
  await page.selectOption('#reader-direction', 'listen', { timeout: SHORT });
  await page.fill('#reader-port', '', { timeout: SHORT });
  await page.click('#reader-submit', { timeout: SHORT });
  const f = await waitFor(async () => { const x = await flashNow(); return x && x.error ? x : null; }, SHORT,
    '#flash shows no error');
  diag(`#flash: ${f.text}`);
  assert(/needs a port/.test(f.text), `#flash says '${f.text}'`);
  assert(await visible('#reader-cancel'), 'the form left edit mode after a refusal');
  await page.click('#reader-cancel', { timeout: SHORT });
  assert((await page.inputValue('#reader-name')) === '', 'Cancel leaves the name in the form');
  assert(!(await page.locator('#reader-name').evaluate((e) => e.readOnly)), 'Cancel leaves the name read-only');
  const dir = ((await r.locator('td').nth(2).textContent()) || '').trim();
  assert(dir === 'connect', `the direction cell says '${dir}'`);
});

check('the History page shows the job held, then printed', async () => {
  await gotoPage('history');
  const rows = page.locator('table#history-table tbody tr.event');
  const title = `Job ${need('JOB_ID')}`;
  let mine = [];
  // The page reads the history once when shown; Refresh reads it again.
  await waitFor(async () => {
    const events = await rows.evaluateAll((trs) => trs.map((tr) => ({
      event: tr.cells[1].textContent.trim(), user: tr.cells[2].textContent.trim(),
      printer: tr.cells[4].textContent.trim(), title: tr.title,
    })));
    mine = events.filter((e) => e.title === title);
    if (mine.some((e) => e.event === 'held') && mine.some((e) => e.event === 'printed')) return true;
    await page.click('#history-refresh', { timeout: SHORT });
    await sleep(500);
    return false;
  }, SHORT, 'no "held" and "printed" events for the job').catch((e) => {
    throw new Error(`${e.message}; the job's events: ${JSON.stringify(mine)}`);
  });
  const printed = mine.find((e) => e.event === 'printed');
  assert(printed.user === need('JOB_USER') && printed.printer === need('JOB_PRINTER'),
    `the printed event says ${JSON.stringify(printed)}`);
  await shot('history');
});

check('Export CSV on the History page downloads the events with their header row', async () => {
  const f = await download('#history-export');
  const lines = f.text.split('\r\n');
  assert(f.name === 'job-history.csv', `the file is named '${f.name}'`);
  assert(lines[0] === 'time,event,job_id,user,workstation,printer,title,page_size,pages,size,format,service,detail',
    `the header row is '${lines[0]}'`);
  assert(lines.some((l) => l.includes(`,printed,${need('JOB_ID')},${need('JOB_USER')},`)),
    'no printed event for the job');
});

check('the History page filters by source: the holder\'s events, then Off-network (none here)', async () => {
  const rows = page.locator('table#history-table tbody tr.event');
  const sources = () => rows.evaluateAll((trs) => trs.map((tr) => tr.cells[8].textContent.trim()));
  await page.selectOption('#history-service', need('HOLDER'));
  await waitFor(async () => {
    const s = await sources();
    return s.length > 0 && s.every((x) => x === 'Workstations (OfflinePrint)');
  }, SHORT, 'the filtered rows are not all "Workstations (OfflinePrint)"');
  await page.selectOption('#history-service', 'PrinterLogicServiceOffNetworkServer');
  await page.locator('table#history-table tbody tr.empty').waitFor({ state: 'visible', timeout: SHORT });
  const href = await page.getAttribute('#history-export', 'href');
  assert(href === '/api/v1/history.csv?service=PrinterLogicServiceOffNetworkServer',
    `Export CSV follows the filter: '${href}'`);
  await page.selectOption('#history-service', '');
  await waitFor(async () => (await sources()).length > 0, SHORT, 'every source again: no rows');
});

let newToken = '';
check('the Workstations page creates a token and shows it once, with the id listed', async () => {
  await gotoPage('workstations');
  await page.fill('#token-workstation', 'ws-browser');
  await clickForFlash(() => page.click('#token-submit'), /created for workstation ws-browser/, SHORT);
  await page.locator('#token-new').waitFor({ state: 'visible', timeout: SHORT });
  newToken = await page.inputValue('#token-new-value');
  const m = /^plsc_([0-9a-f]{8})_\S+$/.exec(newToken);
  assert(m, `#token-new-value holds '${newToken}'`);
  const r = row('tokens-table', 'token', m[1]);
  await r.waitFor({ state: 'visible', timeout: SHORT });
  const ws = ((await r.locator('td').nth(0).textContent()) || '').trim();
  assert(ws === 'ws-browser', `the workstation cell says '${ws}'`);
  const out = await plsc('token', 'list');
  assert(out.includes(m[1]), `plsc token list does not list ${m[1]}: ${out}`);
  await shot('workstations');
});

check('the token is not shown again: after Done, and after another page, only its id', async () => {
  assert(newToken, 'no token was created');
  await page.click('#token-new-done', { timeout: SHORT });
  assert(!(await visible('#token-new')), '#token-new is still visible after Done');
  await gotoPage('admins');
  await gotoPage('workstations');
  await page.locator('table#tokens-table tbody tr[data-token]').first().waitFor({ state: 'visible', timeout: SHORT });
  const html = await page.content();
  assert(!html.includes(newToken.slice(15)), 'the page still holds the token\'s secret');
  assert(!(await visible('#token-new')), '#token-new shows again');
});

check('Revoke marks the token revoked', async () => {
  const id = newToken.slice(5, 13);
  const r = row('tokens-table', 'token', id);
  await clickForFlash(() => r.locator('button[data-action="revoke"]').click({ timeout: SHORT }),
    new RegExp(`token ${id} revoked`), SHORT);
  await waitFor(async () => ((await r.locator('td').nth(4).textContent()) || '').trim() === 'revoked',
    SHORT, 'the row does not say revoked');
});

check('the Administrators page adds an administrator, who can then log in', async () => {
  await gotoPage('admins');
  await row('admins-table', 'admin', ADMIN).waitFor({ state: 'visible', timeout: SHORT });
  const pw = 'browser-bob-passphrase';
  await page.fill('#admin-name', 'bob');
  await page.fill('#admin-password', pw);
  await page.fill('#admin-password2', pw);
  await clickForFlash(() => page.click('#admin-submit'), /administrator bob added/, SHORT * 2);
  await row('admins-table', 'admin', 'bob').waitFor({ state: 'visible', timeout: SHORT });
  assert((await page.inputValue('#admin-password')) === '', 'the password field was not cleared');
  await shot('admins');
  const other = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const res = await other.request.post(`${need('CS_URL')}/api/v1/login`,
      { data: { username: 'bob', password: pw }, timeout: SHORT * 2 });
    assert(res.status() === 200, `bob's login answers ${res.status()}`);
  } finally {
    await other.close();
  }
});

// Thousands of held jobs: the page asks the server for one page at a time,
// draws it, pages forward and back through them, and says how many there
// are. The times are printed for information only: a test never fails on
// a wall-clock figure.
const BULK = Number(env.BULK_JOBS) || 0;
check(`with ${BULK} more held jobs, the Held jobs page draws one page of rows and pages through them`, async () => {
  const rows = page.locator('table#jobs-table tbody tr');
  const info = page.locator('#jobs-page-info');
  assert(BULK > 0, 'BULK_JOBS is not set');
  diag(await bulkSubmit('bulk', BULK));
  await gotoPage('jobs');
  // The whole listing, from the API a page (of 500) at a time.
  const all = await page.evaluate(async () => {
    const ids = [];
    const unavailable = new Set();
    let cursor = '';
    let pages = 0;
    let total = -1;
    const t0 = performance.now();
    for (;;) {
      const q = '?limit=500' + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
      const d = await (await fetch('/api/v1/jobs' + q, { cache: 'no-store' })).json();
      for (const j of d.jobs || []) ids.push(j.id);
      for (const u of d.unavailable || []) unavailable.add(u);
      if (total < 0) total = d.total;
      pages++;
      if (!d.next || pages > 1000) break;
      cursor = d.next;
    }
    return { ids, unavailable: [...unavailable], total, pages, ms: Math.round(performance.now() - t0) };
  });
  const total = all.ids.length;
  assert(all.unavailable.length === 0, `GET /api/v1/jobs says unavailable: ${JSON.stringify(all.unavailable)}`);
  assert(total >= BULK, `GET /api/v1/jobs lists ${total} jobs in ${all.pages} pages, fewer than the ${BULK} just held`);
  assert(new Set(all.ids).size === total, 'GET /api/v1/jobs lists a job twice across its pages');
  assert(all.total === total, `GET /api/v1/jobs says a total of ${all.total}, its pages hold ${total}`);
  const pages = Math.ceil(total / 100);
  // Timed to the frame: the condition is polled in the page on each
  // animation frame, from just before the action.
  const drawn = (from, to, pg, n) => page.waitForFunction(([text, count]) =>
    (document.getElementById('jobs-page-info').textContent || '').trim() === text &&
    document.querySelectorAll('#jobs-table tbody tr').length === count,
  [`${from}\u2013${to} of ${total} (page ${pg} of ${n})`, to - from + 1],
  { polling: 'raf', timeout: JOBS });
  const timed = async (action, from, to, pg, n = pages) => {
    const t0 = Date.now();
    const inPage = await action();
    await drawn(from, to, pg, n).catch(async () => {
      throw new Error(`the page does not show ${from}\u2013${to} of ${total} (page ${pg} of ${n}); ` +
        `it says '${((await info.textContent()) || '').trim()}' with ${await rows.count()} rows`);
    });
    return { all: Date.now() - t0, inPage };
  };
  // In the page: the control's handler (it redraws at once), then the next
  // frame, as the user would see it; without the driver's own overhead.
  const inPage = (sel, value) => () => page.evaluate(([s, v]) => new Promise((resolve) => {
    const e = document.querySelector(s);
    const t0 = performance.now();
    if (v === null) {
      e.click();
    } else {
      e.value = v;
      e.dispatchEvent(new Event('change', { bubbles: true }));
    }
    const handler = performance.now() - t0;
    requestAnimationFrame(() => setTimeout(() => resolve({ handler, frame: performance.now() - t0 }), 0));
  }), [sel, value]);
  // The handler only asks the server for the page: the page is drawn when
  // the answer comes, which the time seen by the test includes.
  const fmt = (t) => `drawn ${t.all} ms after the click as the test saw it ` +
    `(the handler ${t.inPage.handler.toFixed(1)} ms)`;
  // The page loaded afresh: the session, then page 1 of the listing.
  const load = await timed(() => page.reload({ timeout: SHORT * 2 }), 1, 100, 1);
  const api = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => /\/api\/v1\/jobs\?/.test(e.name))
    .map((e) => ({ ms: Math.round(e.duration), bytes: e.decodedBodySize }))[0] || null);
  const ids = () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
  const shows = async (from, what) => assert((await ids()).join() === all.ids.slice(from, from + 100).join(),
    `${what} is not jobs ${from + 1} to ${from + 100} of the listing`);
  await shows(0, 'page 1');
  const next = await timed(inPage('#jobs-next', null), 101, 200, 2);
  await shows(100, 'page 2');
  // Forward a few pages, then all the way back, each page the right rows.
  for (let p = 3; p <= 5; p++) {
    await timed(inPage('#jobs-next', null), (p - 1) * 100 + 1, p * 100, p);
    await shows((p - 1) * 100, `page ${p}`);
  }
  for (let p = 4; p >= 2; p--) {
    await timed(inPage('#jobs-prev', null), (p - 1) * 100 + 1, p * 100, p);
    await shows((p - 1) * 100, `page ${p}, going back`);
  }
  const prev = await timed(inPage('#jobs-prev', null), 1, 100, 1);
  await shows(0, 'page 1, going back');
  assert(await page.locator('#jobs-prev').isDisabled(), 'Previous is enabled on the first page');
  const per = await timed(inPage('#jobs-per-page', '250'), 1, 250, 1, Math.ceil(total / 250));
  await timed(inPage('#jobs-next', null), 251, 500, 2, Math.ceil(total / 250));
  assert((await ids()).join() === all.ids.slice(250, 500).join(), 'at 250 a page, page 2 is not jobs 251 to 500');
  await timed(() => page.selectOption('#jobs-per-page', '100', { timeout: SHORT }), 1, 100, 1);
  // And with the mouse, as a user would.
  const click = await timed(() => page.click('#jobs-next', { timeout: SHORT }), 101, 200, 2);
  await timed(() => page.click('#jobs-prev', { timeout: SHORT }), 1, 100, 1);
  await shot('jobs-many');
  // Information only: never a pass/fail bound.
  diag(`${total} held jobs: the page loaded (reload to page 1 drawn) in ${load.all} ms` +
    (api ? `; its GET /api/v1/jobs (one page) took ${api.ms} ms for ${api.bytes} bytes` : '') +
    `; the whole listing through the API: ${all.pages} pages of 500 in ${all.ms} ms`);
  diag(`${total} held jobs: Next ${fmt(next)}; Previous ${fmt(prev)}; 250 a page ${fmt(per)}; ` +
    `Next clicked with the mouse ${click.all} ms seen by the test`);
});

check('Log out shows the login form again', async () => {
  await page.click('#logout', { timeout: SHORT });
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: SHORT });
  assert(!(await visible('#app')), '#app is still visible');
  await shot('logged-out');
});

check('after logging out the session is gone: a reload shows the login form', async () => {
  await page.reload({ timeout: SHORT * 2 });
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: SHORT });
  assert(!(await visible('#app')), '#app is visible after a reload');
  const st = await page.evaluate(async () => (await fetch('/api/v1/session', { cache: 'no-store' })).status);
  assert(st === 401, `GET /api/v1/session answers ${st}`);
});

check('no script errors and no unexpected dialogs on the page', async () => {
  assert(pageErrors.length === 0, `script errors: ${pageErrors.join(' | ')}`);
  assert(dialogs.length === 0, `dialogs: ${dialogs.join(' | ')}`);
});

/* ---------- main ---------- */

if (process.argv.includes('--count')) {
  console.log(checks.length);
  process.exit(0);
}

async function main() {
  const { chromium } = await import('playwright-core');
  mkdirSync(need('SHOT_DIR'), { recursive: true });
  browser = await chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox'],
    timeout: 30000 * SCALE,
  });
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(SHORT);
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });

  let skipRest = null;
  for (const c of checks) {
    if (skipRest !== null) {
      console.log(`not ok ${n++} - ${c.desc} # not run: '${skipRest}' failed`);
      failed++;
      continue;
    }
    const t0 = Date.now();
    try {
      await c.fn();
      console.log(`ok ${n++} - ${c.desc}`);
    } catch (e) {
      console.log(`not ok ${n++} - ${c.desc}`);
      failed++;
      diag(`  ${e && e.message ? e.message : e}`.replace(/\n\s*\n/g, '\n'));
      diag(`  after ${Date.now() - t0} ms; page url ${page.url()}`);
      if (c.critical) skipRest = c.desc;
      try {
        await page.screenshot({ path: join(need('SHOT_DIR'), `failed-${n - 1}.png`), fullPage: true, timeout: SHORT });
        diag(`  screenshot: failed-${n - 1}.png`);
      } catch (_) { /* the page may be gone */ }
    }
  }
}

let rc = 0;
try {
  await main();
} catch (e) {
  diag(`the browser test stopped: ${e && e.stack ? e.stack : e}`);
  rc = 1;
} finally {
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  }
}
process.exit(rc !== 0 || failed > 0 ? 1 : 0);
