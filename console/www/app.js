/* Service Client console: the admin web UI's script (served as /static/app.js).
 * Plain ES2020, no framework. Talks to plsc-console's JSON API under /api/v1
 * (README.md, "Web console"). All data reaches the page through textContent or
 * createElement, never innerHTML; no inline styles or handlers (strict CSP). */
'use strict';

(() => {
  const API = '/api/v1';
  const PAGES = ['services', 'logs', 'jobs', 'users', 'printers', 'history', 'workstations', 'admins'];
  const PAGE_TITLES = {
    services: 'Services', logs: 'Logs', jobs: 'Held jobs', users: 'Users',
    printers: 'Printers & readers', history: 'History',
    workstations: 'Workstations', admins: 'Administrators',
  };
  const EXPIRED_MSG = 'Your session has expired; please log in again.';
  const LOG_CAP = 2 * 1024 * 1024; // characters of log text kept in the view
  const LOG_CHUNK = 64 * 1024;     // the server's most per follow call
  const CONSOLE_SERVICE = 'plsc-console';

  const state = {
    csrf: null,
    user: null,
    page: null,
    printers: [],          // [{name, uri, location, formats, status, email, guest}]
    services: new Map(),   // name -> service
    jobs: new Map(),       // id -> job
    users: new Map(),      // username -> user
    editUser: null,        // username being edited, or null (add mode)
    editPrinter: null,     // printer being edited, or null (add mode)
    readers: [],           // [{name, address, direction, port, printer, mode, format}]
    editReader: null,      // reader being edited, or null (add mode)
    jobList: [],           // the page of held jobs shown, oldest first
    jobsPage: 0,           // which page it is (0-based)
    jobsCursors: [''],     // where each page starts: the server's "next" of the one before
    jobsTotal: 0,          // held jobs in the whole listing
    jobsNext: null,        // the cursor of the page after this one (null: the last)
    busyServices: new Set(),
    pendingLogService: null,
  };

  /* ---------- small helpers ---------- */

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;
  const str = (v) => (v === null || v === undefined ? '' : String(v));

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (v === true) e.setAttribute(k, '');
        else e.setAttribute(k, String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function setText(node, text) {
    const s = str(text);
    if (node.textContent !== s) node.textContent = s;
  }

  function listText(v, sep = ', ') {
    if (Array.isArray(v)) return v.map(str).join(sep);
    return str(v);
  }

  function splitList(text, re) {
    return text.split(re).map((s) => s.trim()).filter((s) => s !== '');
  }

  function button(action, label, cls = 'btn small') {
    return el('button', { type: 'button', class: cls, 'data-action': action }, label);
  }

  function fmtDuration(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '';
    let s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d > 0) return `${d} d ${h} h`;
    if (h > 0) return `${h} h ${m} min`;
    if (m > 0) return `${m} min ${s} s`;
    return `${s} s`;
  }

  function fmtSize(n) {
    if (typeof n !== 'number' || !isFinite(n)) return str(n);
    if (n < 1024) return `${n} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
  }

  function fmtTime(t) {
    if (t === null || t === undefined || t === '') return '';
    const d = new Date(t);
    return isNaN(d.getTime()) ? str(t) : d.toLocaleString();
  }

  function stateClass(s) {
    return /^[a-z0-9-]+$/.test(str(s)) ? `badge state-${s}` : 'badge';
  }

  /* ---------- messages ---------- */

  function flash(msg, isError = false) {
    const f = $('flash');
    f.textContent = str(msg);
    f.classList.toggle('error', !!isError);
    f.classList.toggle('ok', !isError);
    f.hidden = !msg;
  }

  function clearFlash() {
    const f = $('flash');
    f.textContent = '';
    f.classList.remove('error', 'ok');
    f.hidden = true;
  }

  // Shows an error from an API call (a 401 was already handled: back to login).
  function report(err) {
    if (err && err.handled) return;
    if (!(err instanceof ApiError)) console.error(err);
    flash(err && err.message ? err.message : str(err), true);
  }

  function setLoginError(msg) {
    const e = $('login-error');
    e.textContent = str(msg);
    e.hidden = !msg;
  }

  /* ---------- API ---------- */

  class ApiError extends Error {
    constructor(status, message, data) {
      super(message);
      this.status = status;
      this.data = data;
      this.handled = false;
    }
  }

  // method, path under /api/v1, optional body (object -> JSON, or a string
  // with opts.contentType); opts.allow401: do not treat 401 as an expired
  // session; opts.noCsrf: no X-CSRF-Token (the login).
  async function api(method, path, body, opts = {}) {
    const init = {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    };
    if (body !== undefined) {
      if (opts.contentType) {
        init.headers['Content-Type'] = opts.contentType;
        init.body = body;
      } else {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
    }
    if (method !== 'GET' && !opts.noCsrf) init.headers['X-CSRF-Token'] = state.csrf || '';
    let res;
    try {
      res = await fetch(API + path, init);
    } catch (e) {
      throw new ApiError(0, `Cannot reach the console server (${e && e.message ? e.message : e}).`);
    }
    let text = '';
    try { text = await res.text(); } catch (_) { text = ''; }
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (!res.ok) {
      let msg = data && typeof data.error === 'string' && data.error
        ? data.error
        : `The server answered ${res.status}${res.statusText ? ' ' + res.statusText : ''}.`;
      if (res.status === 429) {
        const ra = res.headers.get('Retry-After');
        if (ra && !/try again|retry/i.test(msg)) msg += ` (try again in ${ra} s)`;
      }
      const err = new ApiError(res.status, msg, data);
      if (res.status === 401 && !opts.allow401) {
        err.handled = true;
        sessionLost();
      }
      throw err;
    }
    if (data === null || typeof data !== 'object') {
      if (text) throw new ApiError(res.status, 'The server sent an answer that is not JSON.');
      data = {};
    }
    return data;
  }

  /* ---------- polling (one poller at a time: the current page's) ---------- */

  let pollToken = 0;
  let pollTimer = null;

  function stopPolling() {
    pollToken++;
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
  }

  // Runs fn now, then again `ms` after each run ends, until stopPolling().
  function startPolling(fn, ms) {
    stopPolling();
    const token = pollToken;
    const tick = async () => {
      if (token !== pollToken) return;
      try {
        await fn();
      } catch (e) {
        if (token === pollToken) report(e);
      }
      if (token !== pollToken) return;
      pollTimer = setTimeout(tick, ms);
    };
    tick();
  }

  /* ---------- keyed table rows, updated in place ---------- */

  // Keeps one <tr data-ATTR="key"> per item, in the items' order, so rows
  // (and the selects and buttons in them) survive periodic refreshes.
  function syncRows(table, attr, items, keyOf, create, update, emptyText) {
    const tbody = table.tBodies[0];
    const existing = new Map();
    for (const tr of Array.from(tbody.rows)) {
      const k = tr.getAttribute('data-' + attr);
      if (k === null) tr.remove();
      else existing.set(k, tr);
    }
    const seen = new Set();
    let i = 0;
    for (const item of items) {
      const key = str(keyOf(item));
      if (seen.has(key)) continue;
      seen.add(key);
      let tr = existing.get(key);
      if (!tr) {
        tr = create(item);
        tr.setAttribute('data-' + attr, key);
      }
      update(tr, item);
      if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
      i++;
    }
    for (const [k, tr] of existing) if (!seen.has(k)) tr.remove();
    if (i === 0) {
      const cols = table.tHead.rows[0].cells.length;
      tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: cols }, emptyText)));
    }
  }

  function cells(tr, n) {
    for (let i = 0; i < n; i++) tr.append(el('td'));
    return tr;
  }

  function rowKey(btn, attr) {
    const tr = btn.closest(`tr[data-${attr}]`);
    return tr ? tr.getAttribute('data-' + attr) : null;
  }

  // Fills a <select> with values (rebuilding only when they changed) and
  // selects `wanted` when it is one of them.
  function fillSelect(sel, values, wanted, emptyLabel) {
    const want = wanted !== undefined ? wanted : sel.value;
    const opts = values.length ? values : [''];
    const cur = Array.from(sel.options, (o) => o.value);
    if (cur.length !== opts.length || cur.some((v, i) => v !== opts[i])) {
      sel.replaceChildren(...opts.map((v) => el('option', { value: v }, v === '' ? emptyLabel : v)));
    }
    if (opts.includes(want)) sel.value = want;
  }

  function printerNames() {
    return state.printers.map((p) => str(p.name));
  }

  async function withButton(btn, fn) {
    if (btn) btn.disabled = true;
    try {
      return await fn();
    } finally {
      if (btn) btn.disabled = false;
    }
  }

  /* ---------- session ---------- */

  function startSession(s) {
    state.csrf = str(s.csrf_token);
    state.user = str(s.user);
    setText($('whoami'), state.user);
    setLoginError('');
    clearFlash();
    $('login').hidden = true;
    $('app').hidden = false;
    route();
  }

  function endSession() {
    stopPolling();
    state.csrf = null;
    state.user = null;
    state.page = null;
    state.services.clear();
    state.jobs.clear();
    state.jobList = [];
    resetJobsPages();
    $('jobs-pager').hidden = true;
    state.users.clear();
    state.busyServices.clear();
    state.printers = [];
    state.readers = [];
    setUserFormMode(null);
    setPrinterFormMode(null);
    setReaderFormMode(null);
    resetAdminPages();
    resetLog();
    logState.haveList = false;
    for (const id of ['services-table', 'jobs-table', 'users-table', 'printers-table', 'readers-table', 'history-table']) {
      $(id).tBodies[0].replaceChildren();
    }
    setText($('whoami'), '');
    setText($('supervisor-info'), '');
    const ir = $('import-result');
    ir.replaceChildren();
    ir.hidden = true;
    clearFlash();
  }

  function showLogin(msg) {
    $('app').hidden = true;
    $('login').hidden = false;
    setLoginError(msg);
    const u = $('login-username');
    (u.value ? $('login-password') : u).focus();
  }

  function sessionLost() {
    if (state.csrf === null) return;
    endSession();
    showLogin(EXPIRED_MSG);
  }

  async function onLogin(ev) {
    ev.preventDefault();
    const username = $('login-username').value.trim();
    const password = $('login-password').value;
    if (!username || !password) {
      setLoginError('Enter your user name and password.');
      return;
    }
    setLoginError('');
    await withButton($('login-submit'), async () => {
      try {
        const s = await api('POST', '/login', { username, password }, { allow401: true, noCsrf: true });
        $('login-password').value = '';
        startSession(s);
      } catch (e) {
        setLoginError(e.message);
        $('login-password').select();
      }
    });
  }

  async function onLogout() {
    try {
      await api('POST', '/logout', undefined, { allow401: true });
    } catch (e) {
      if (e.status !== 401) {
        report(e);
        return;
      }
    }
    endSession();
    showLogin('');
  }

  /* ---------- routing ---------- */

  function currentPage() {
    const h = location.hash.replace(/^#/, '').split(/[/?]/)[0];
    return PAGES.includes(h) ? h : 'services';
  }

  function route() {
    if (state.csrf === null) return;
    const page = currentPage();
    if (location.hash !== '#' + page) history.replaceState(null, '', '#' + page);
    stopPolling();
    if (state.page !== page) clearFlash(); // a message belongs to its page
    state.page = page;
    for (const p of PAGES) $('page-' + p).hidden = p !== page;
    for (const a of document.querySelectorAll('a[data-page]')) {
      const on = a.getAttribute('data-page') === page;
      a.classList.toggle('active', on);
      if (on) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = `${PAGE_TITLES[page]} - Service Client console`;
    SHOW[page]();
  }

  /* ---------- services ---------- */

  let servicesSeq = 0;

  async function refreshServices() {
    const seq = ++servicesSeq;
    const data = await api('GET', '/services');
    if (seq !== servicesSeq || state.csrf === null) return;
    const sup = data.supervisor || {};
    const parts = [];
    if (sup.version) parts.push(`version ${sup.version}`);
    if (sup.pid !== undefined && sup.pid !== null) parts.push(`pid ${sup.pid}`);
    if (typeof sup.uptime_ms === 'number') parts.push(`up ${fmtDuration(sup.uptime_ms)}`);
    setText($('supervisor-info'), `Supervisor ${parts.join(', ')}`);
    const list = Array.isArray(data.services) ? data.services : [];
    state.services = new Map(list.map((s) => [str(s.name), s]));
    syncRows($('services-table'), 'service', list, (s) => s.name, createServiceRow, updateServiceRow,
      'No services are configured.');
  }

  function createServiceRow() {
    const tr = el('tr');
    tr.append(
      el('td', { class: 'name' }),
      el('td', { class: 'state' }, el('span', { class: 'badge' })),
      el('td', { class: 'enabled' }),
      el('td', { class: 'pid num' }),
      el('td', { class: 'uptime' }),
      el('td', { class: 'restarts num' }),
      el('td', { class: 'last-exit' }),
      el('td', { class: 'detail' }),
      el('td', { class: 'actions' },
        el('span', { class: 'switch' },
          button('enable', 'On', 'btn small seg'),
          button('disable', 'Off', 'btn small seg')),
        button('restart', 'Restart'),
        button('logs', 'Logs', 'btn small ghost')),
    );
    return tr;
  }

  function updateServiceRow(tr, s) {
    const c = tr.cells;
    setText(c[0], s.name);
    const badge = c[1].firstChild;
    setText(badge, s.state);
    const cls = stateClass(s.state);
    if (badge.className !== cls) badge.className = cls;
    setText(c[2], s.enabled ? 'yes' : 'no');
    c[2].classList.toggle('off', !s.enabled);
    setText(c[3], s.pid);
    setText(c[4], fmtDuration(s.uptime_ms));
    setText(c[5], s.restarts);
    setText(c[6], s.last_exit);
    setText(c[7], s.detail);
    const busy = state.busyServices.has(str(s.name));
    const en = tr.querySelector('[data-action="enable"]');
    const dis = tr.querySelector('[data-action="disable"]');
    en.disabled = busy || !!s.enabled;
    dis.disabled = busy || !s.enabled;
    en.classList.toggle('current', !!s.enabled);
    dis.classList.toggle('current', !s.enabled);
    en.title = s.enabled ? 'Enabled' : `Switch ${s.name} on`;
    dis.title = s.enabled ? `Switch ${s.name} off` : 'Disabled';
    const rs = tr.querySelector('[data-action="restart"]');
    rs.disabled = busy;
    rs.title = s.enabled ? `Restart ${s.name}` : 'A disabled service cannot be restarted; enable it first';
  }

  async function onServiceAction(ev) {
    const btn = ev.target.closest('button[data-action]');
    if (!btn) return;
    const name = rowKey(btn, 'service');
    if (name === null) return;
    const action = btn.getAttribute('data-action');
    if (action === 'logs') {
      state.pendingLogService = name;
      location.hash = '#logs';
      return;
    }
    if (!['enable', 'disable', 'restart'].includes(action)) return;
    if (name === CONSOLE_SERVICE && action !== 'enable' &&
        !window.confirm(`${action === 'disable' ? 'Disabling' : 'Restarting'} ${name} stops this console` +
          `${action === 'restart' ? ' for a moment (and logs everyone out)' : ''}. Continue?`)) return;
    state.busyServices.add(name);
    for (const b of btn.closest('tr').querySelectorAll('button')) b.disabled = true;
    try {
      const r = await api('POST', `/services/${enc(name)}/${action}`);
      flash(r.message || `${name}: ${action} done`);
    } catch (e) {
      report(e);
    } finally {
      state.busyServices.delete(name);
      if (state.csrf !== null) refreshServices().catch(report);
    }
  }

  /* ---------- logs ---------- */

  const logState = { haveList: false, name: null, file: null, offset: null, loaded: false, gen: 0, buf: '' };

  function resetLog() {
    logState.gen++;
    logState.loaded = false;
    logState.name = null;
    logState.file = null;
    logState.offset = null;
    logState.buf = '';
    $('log-text').textContent = '';
    setText($('log-status'), '');
  }

  async function loadLogServices() {
    const data = await api('GET', '/services');
    const names = (Array.isArray(data.services) ? data.services : []).map((s) => str(s.name));
    if (!names.includes('plsc-supervisor')) names.push('plsc-supervisor');
    const sel = $('log-service');
    let want = sel.value || names[0];
    if (state.pendingLogService !== null) {
      want = state.pendingLogService;
      state.pendingLogService = null;
    }
    fillSelect(sel, names, want, '');
    logState.haveList = true;
  }

  function logLines() {
    let n = parseInt($('log-lines').value, 10);
    if (!(n >= 1)) n = 200;
    return Math.min(n, 2000);
  }

  function trimLog(buf) {
    if (buf.length <= LOG_CAP) return buf;
    const cut = buf.indexOf('\n', buf.length - LOG_CAP);
    return cut >= 0 ? buf.slice(cut + 1) : buf.slice(buf.length - LOG_CAP);
  }

  function scrollLog(force) {
    if (force || $('log-follow').checked) {
      const pre = $('log-text');
      pre.scrollTop = pre.scrollHeight;
    }
  }

  function appendLog(text) {
    if (!text) return;
    const pre = $('log-text');
    logState.buf += text;
    if (logState.buf.length > LOG_CAP) {
      logState.buf = trimLog(logState.buf);
      pre.textContent = logState.buf;
    } else {
      pre.append(text);
    }
    scrollLog(false);
  }

  async function loadLogTail() {
    const gen = ++logState.gen;
    const name = $('log-service').value;
    const n = logLines();
    const d = await api('GET', `/logs/${enc(name)}?lines=${n}`);
    if (gen !== logState.gen) return;
    logState.name = name;
    logState.file = d.file;
    logState.offset = d.offset;
    logState.loaded = true;
    logState.buf = trimLog(str(d.text));
    $('log-text').textContent = logState.buf;
    setText($('log-status'), logStatus());
    scrollLog(true);
  }

  // How much of the log file there is (the file id is an inode: not shown).
  function logStatus() {
    const o = logState.offset;
    if (typeof o !== 'number') return '';
    const size = o < 10240 ? `${o} bytes` : `${Math.round(o / 1024)} KiB`;
    return $('log-follow').checked ? `${size}, following` : size;
  }

  async function followLog() {
    const gen = logState.gen;
    // Several calls in a row while the server returns full 64 KiB chunks.
    for (let round = 0; round < 16; round++) {
      const before = logState.offset;
      const q = `file=${enc(str(logState.file))}&offset=${enc(str(logState.offset))}`;
      const d = await api('GET', `/logs/${enc(logState.name)}?${q}`);
      if (gen !== logState.gen || !$('log-follow').checked) return;
      let add = '';
      if (d.rotated) {
        add += (logState.buf && !logState.buf.endsWith('\n') ? '\n' : '') + '--- log rotated ---\n';
      }
      add += str(d.text);
      if (d.file !== undefined && d.file !== null) logState.file = d.file;
      if (d.offset !== undefined && d.offset !== null) logState.offset = d.offset;
      appendLog(add);
      setText($('log-status'), logStatus());
      const full = !d.rotated && typeof d.offset === 'number' && typeof before === 'number' &&
        d.offset - before >= LOG_CHUNK;
      if (!full) return;
    }
  }

  async function logTick() {
    if (!logState.haveList) await loadLogServices();
    const name = $('log-service').value;
    if (!name) return;
    if (!logState.loaded || logState.name !== name) {
      await loadLogTail();
      return;
    }
    if ($('log-follow').checked) await followLog();
  }

  function reloadLog() {
    if (state.page !== 'logs') return;
    resetLog();
    startPolling(logTick, 1000);
  }

  function showLogs() {
    logState.haveList = false;
    if (state.pendingLogService !== null || !logState.loaded) resetLog();
    startPolling(logTick, 1000);
  }

  /* ---------- held jobs ---------- */

  let jobsSeq = 0;

  /* The server pages the listing (GET /api/v1/jobs?limit=&cursor=): the
   * page asks for one page at a time, so ten thousand held jobs cost one
   * page of JSON and of rows, not a listing of them all every 5 s. A page
   * starts after a cursor (a job's position, not an offset: jobs released
   * meanwhile shift nothing); Previous goes back to a cursor kept from the
   * way forward. */
  function resetJobsPages() {
    state.jobsPage = 0;
    state.jobsCursors = [''];
    state.jobsNext = null;
  }

  function jobsPerPage() {
    const n = parseInt($('jobs-per-page').value, 10);
    return n >= 1 ? n : 100;
  }

  async function refreshJobs() {
    const seq = ++jobsSeq;
    const user = $('jobs-user').value.trim();
    const cursor = state.jobsCursors[state.jobsPage] || '';
    const q = `?limit=${jobsPerPage()}` + (user ? `&user=${enc(user)}` : '') +
      (cursor ? `&cursor=${enc(cursor)}` : '');
    const jobsP = api('GET', '/jobs' + q);
    const printersP = api('GET', '/printers').then(
      (d) => { state.printers = Array.isArray(d.printers) ? d.printers : []; },
      (e) => { if (!e.handled) report(e); });
    const data = await jobsP;
    await printersP;
    if (seq !== jobsSeq || state.csrf === null) return;
    const list = Array.isArray(data.jobs) ? data.jobs : [];
    /* Every job of this page and after it went (released elsewhere):
     * back a page, rather than show an empty one with jobs before it. */
    if (list.length === 0 && state.jobsPage > 0) {
      state.jobsPage--;
      await refreshJobs();
      return;
    }
    /* A holder that did not answer: its jobs are missing from the list,
     * which must not look complete. */
    const missing = Array.isArray(data.unavailable) ? data.unavailable.map(str) : [];
    const banner = $('jobs-unavailable');
    setText(banner, missing.length
      ? `Not listed: the jobs held by ${missing.join(', ')}, which did not answer (not running). ` +
        'This list is incomplete.'
      : '');
    banner.hidden = missing.length === 0;
    state.jobs = new Map(list.map((j) => [str(j.id), j]));
    state.jobList = list;
    state.jobsTotal = Number.isInteger(data.total) ? data.total : list.length;
    state.jobsNext = typeof data.next === 'string' && data.next ? data.next : null;
    state.jobsCursors.length = state.jobsPage + 1;
    if (state.jobsNext) state.jobsCursors.push(state.jobsNext);
    const total = state.jobsTotal;
    const partial = missing.length ? ' listed (incomplete)' : '';
    setText($('jobs-count'),
      `${total} held job${total === 1 ? '' : 's'}${user ? ` for ${user}` : ''}${partial}`);
    showJobsPage();
  }

  function showJobsPage() {
    const list = state.jobList;
    const per = jobsPerPage();
    const total = Math.max(state.jobsTotal, list.length);
    const pages = Math.max(1, Math.ceil(total / per), state.jobsPage + 1);
    const from = state.jobsPage * per;
    const user = $('jobs-user').value.trim();
    const missing = !$('jobs-unavailable').hidden;
    const none = missing ? 'No held jobs listed: see above.'
      : user ? `No held jobs for ${user}.` : 'No held jobs.';
    syncRows($('jobs-table'), 'job', list, (j) => j.id, createJobRow, updateJobRow, none);
    $('jobs-pager').hidden = state.jobsPage === 0 && !state.jobsNext;
    $('jobs-prev').disabled = state.jobsPage === 0;
    $('jobs-next').disabled = !state.jobsNext;
    setText($('jobs-page-info'), list.length
      ? `${from + 1}\u2013${from + list.length} of ${total} (page ${state.jobsPage + 1} of ${pages})` : '');
  }

  /* The other page, from the server (the poll goes on from there). */
  function jobsPageBy(delta) {
    const page = state.jobsPage + delta;
    if (page < 0 || page >= state.jobsCursors.length) return;
    state.jobsPage = page;
    if (state.page === 'jobs') startPolling(refreshJobs, 5000);
  }

  /* The services that hold jobs, by a name an administrator knows; others
   * are shown as they are. */
  const SOURCE_NAMES = {
    PrinterLogicServiceOfflinePrint: 'Workstations (OfflinePrint)',
    PrinterLogicServiceEmail: 'E-mail',
    PrinterLogicServiceAirprint: 'AirPrint',
    PrinterLogicServiceOffNetworkServer: 'Off-network (OffNetworkServer)',
    PrinterLogicServiceSNMP: 'Printer alerts (SNMP)',
  };

  function sourceName(s) {
    const v = str(s);
    return Object.prototype.hasOwnProperty.call(SOURCE_NAMES, v) ? SOURCE_NAMES[v] : v;
  }

  /* Secure print vs pull print (README "Held jobs"): a job submitted for
   * a printer is released only there, so its row shows that printer,
   * fixed; the "elsewhere" box is the administrator's override, sent as
   * any_printer and logged with their name. A pull job prints anywhere,
   * so nothing is preselected: a default would print it in whatever room
   * sorts first with one click. Release stays disabled until a printer is
   * chosen. */
  function isSecure(j) {
    return typeof j.printer === 'string' && j.printer !== '';
  }

  function syncReleaseControls(tr, j) {
    const secure = isSecure(j);
    const sel = tr.querySelector('select.release-printer');
    const fixed = tr.querySelector('span.release-fixed');
    const box = tr.querySelector('label.release-elsewhere');
    const override = secure && box.querySelector('input').checked;
    setText(fixed, secure ? j.printer : '');
    fixed.hidden = !secure;
    box.hidden = !secure;
    sel.hidden = secure && !override;
    tr.querySelector('button[data-action="release"]').disabled = (!secure || override) && !sel.value;
  }

  function createJobRow() {
    const tr = cells(el('tr'), 8);
    const sel = el('select', { class: 'release-printer', 'aria-label': 'Printer to release to' });
    const box = el('input', { type: 'checkbox', class: 'release-override' });
    const sync = () => syncReleaseControls(tr, state.jobs.get(tr.getAttribute('data-job')) || {});
    sel.addEventListener('change', () => { sel.dataset.touched = '1'; sync(); });
    box.addEventListener('change', sync);
    tr.append(
      el('td', { class: 'release' },
        el('span', { class: 'release-fixed', title: 'A secure job: it is released only at this printer' }),
        sel, button('release', 'Release', 'btn small primary'),
        el('label', { class: 'release-elsewhere', title: 'Release this secure job at another printer (logged)' },
          box, ' elsewhere')),
      el('td', { class: 'actions' }, button('delete', 'Delete', 'btn small danger')),
    );
    tr.cells[1].className = 'workstation';
    tr.cells[4].className = 'num';
    tr.cells[5].className = 'num';
    tr.cells[7].className = 'source';
    return tr;
  }

  function updateJobRow(tr, j) {
    const c = tr.cells;
    setText(c[0], j.user);
    setText(c[1], j.workstation);
    setText(c[2], j.title);
    /* A release of it was cut off after bytes went out: it may have
     * printed, and prints again only when the administrator says so. */
    if (typeof j.maybe_printed_ms === 'number') {
      c[2].append(' ', el('span', { class: 'badge ev-maybe-printed',
        title: `A release was cut off at ${fmtTime(j.maybe_printed_ms)}: it may have printed` },
      'maybe printed'));
    }
    setText(c[3], j.printer === '' ? 'any' : j.printer);
    c[3].classList.toggle('muted', j.printer === '');
    setText(c[4], fmtSize(j.size));
    setText(c[5], typeof j.pages === 'number' ? j.pages : '\u2013'); // null: not known
    setText(c[6], typeof j.created_ms === 'number' ? fmtDuration(Date.now() - j.created_ms) : '');
    setText(c[7], sourceName(j.source));
    if (c[7].title !== str(j.source)) c[7].title = str(j.source);
    const tip = [`Job ${str(j.id)}`];
    if (j.workstation) tip.push(`from ${j.workstation}`);
    if (j.format) tip.push(`format ${j.format}`);
    if (typeof j.created_ms === 'number') tip.push(`held since ${fmtTime(j.created_ms)}`);
    if (typeof j.expires_ms === 'number') tip.push(`expires ${fmtTime(j.expires_ms)}`);
    const t = tip.join(', ');
    if (tr.title !== t) tr.title = t;
    const sel = tr.querySelector('select.release-printer');
    const want = sel.dataset.touched ? sel.value : '';
    const names = printerNames();
    fillSelect(sel, [''].concat(names), want, names.length ? 'Choose a printer…' : '(no printers)');
    syncReleaseControls(tr, j);
  }

  async function onJobAction(ev) {
    const btn = ev.target.closest('button[data-action]');
    if (!btn) return;
    const id = rowKey(btn, 'job');
    if (id === null) return;
    const job = state.jobs.get(id) || {};
    const action = btn.getAttribute('data-action');
    if (action === 'release') {
      const tr = btn.closest('tr');
      const anyPrinter = isSecure(job) && tr.querySelector('input.release-override').checked;
      const printer = isSecure(job) && !anyPrinter ? str(job.printer)
        : tr.querySelector('select.release-printer').value;
      if (!printer) {
        flash(state.printers.length ? 'Choose a printer to release to.'
          : 'There is no printer to release to: add one on the Printers page first.', true);
        return;
      }
      if (anyPrinter && printer !== job.printer && !window.confirm(
        `This job was sent to ${job.printer} (secure print). Release it at ${printer} instead? ` +
        'The override is logged with your name.')) return;
      const maybe = typeof job.maybe_printed_ms === 'number';
      if (maybe && !window.confirm(
        `A release of this job was cut off at ${fmtTime(job.maybe_printed_ms)} after it had ` +
        'started printing, so it may have printed already. Print it again?')) return;
      const body = anyPrinter ? { printer, any_printer: true } : { printer };
      if (maybe) body.reprint = true;
      await withButton(btn, async () => {
        try {
          const r = await api('POST', `/jobs/${enc(id)}/release`, body);
          let msg = str(r.message) || `Released to ${printer}.`;
          const results = Array.isArray(r.results) ? r.results : [];
          const extra = results.map((x) => str(x.message)).filter((m) => m && m !== msg);
          if (extra.length) msg += ` (${extra.join('; ')})`;
          flash(msg);
        } catch (e) {
          report(e);
        }
      });
    } else if (action === 'delete') {
      const what = job.title ? `"${job.title}"` : id;
      if (!window.confirm(`Delete the held job ${what}${job.user ? ` of ${job.user}` : ''}? ` +
        'It is shredded without printing.')) return;
      await withButton(btn, async () => {
        try {
          const r = await api('DELETE', `/jobs/${enc(id)}`);
          flash(str(r.message) || 'Job deleted.');
        } catch (e) {
          report(e);
        }
      });
    } else {
      return;
    }
    if (state.page === 'jobs') startPolling(refreshJobs, 5000);
  }

  /* ---------- users ---------- */

  async function refreshUsers() {
    const data = await api('GET', '/users');
    if (state.csrf === null) return;
    const list = Array.isArray(data.users) ? data.users : [];
    state.users = new Map(list.map((u) => [str(u.username), u]));
    syncRows($('users-table'), 'user', list, (u) => u.username, createUserRow, updateUserRow, 'No users yet.');
  }

  function createUserRow() {
    const tr = cells(el('tr'), 7);
    tr.append(el('td', { class: 'actions' },
      button('edit', 'Edit'), button('pin', 'Reset PIN'), button('delete', 'Delete', 'btn small danger')));
    return tr;
  }

  function updateUserRow(tr, u) {
    const c = tr.cells;
    setText(c[0], u.username);
    setText(c[1], u.display_name);
    setText(c[2], listText(u.emails));
    setText(c[3], listText(u.groups));
    setText(c[4], listText(u.badges));
    setText(c[5], u.has_pin ? 'yes' : 'no');
    setText(c[6], u.source);
  }

  function setUserFormMode(user) {
    const form = $('user-form');
    form.reset();
    state.editUser = user ? str(user.username) : null;
    const editing = state.editUser !== null;
    $('user-username').readOnly = editing;
    $('user-pin').disabled = editing;
    $('user-pin-field').hidden = editing;
    $('user-cancel').hidden = !editing;
    setText($('user-submit'), editing ? 'Save changes' : 'Add user');
    setText($('user-form-title'), editing ? `Edit user ${state.editUser}` : 'Add a user');
    form.classList.toggle('editing', editing);
    if (editing) {
      $('user-username').value = state.editUser;
      $('user-display-name').value = str(user.display_name);
      $('user-emails').value = listText(user.emails);
      $('user-groups').value = listText(user.groups, ',');
      $('user-badges').value = listText(user.badges, ' ');
    }
  }

  async function onUserSubmit(ev) {
    ev.preventDefault();
    const body = {
      display_name: $('user-display-name').value.trim(),
      emails: splitList($('user-emails').value, /[\s,;]+/),
      groups: splitList($('user-groups').value, /,/).join(','),
      badges: splitList($('user-badges').value, /[\s,;|]+/),
    };
    const editing = state.editUser;
    await withButton($('user-submit'), async () => {
      try {
        let r;
        if (editing !== null) {
          r = await api('PUT', `/users/${enc(editing)}`, body);
          flash(str(r.message) || `User ${editing} saved.`);
        } else {
          const username = $('user-username').value.trim();
          if (!username) {
            flash('Enter a user name.', true);
            return;
          }
          const pin = $('user-pin').value.trim();
          r = await api('POST', '/users', Object.assign({ username }, body, pin ? { pin } : {}));
          flash(str(r.message) || `User ${username} added.`);
        }
        setUserFormMode(null);
        await refreshUsers();
      } catch (e) {
        report(e);
      }
    });
  }

  async function onUserAction(ev) {
    const btn = ev.target.closest('button[data-action]');
    if (!btn) return;
    const name = rowKey(btn, 'user');
    if (name === null) return;
    const action = btn.getAttribute('data-action');
    const synced = state.users.get(name);
    if ((action === 'edit' || action === 'delete') && synced && str(synced.source) !== 'local' &&
        str(synced.source) !== '') {
      // The server refuses it too (409); say why before the form opens.
      flash(`User ${name} is synced from ${str(synced.source)} (IdentitySync): ` +
        'its record is read-only here; change it in the identity source.', true);
      return;
    }
    if (action === 'edit') {
      const u = state.users.get(name);
      if (!u) return;
      setUserFormMode(u);
      $('user-form').scrollIntoView({ block: 'nearest' });
      $('user-display-name').focus();
      return;
    }
    let req = null;
    if (action === 'delete') {
      if (!window.confirm(`Delete the user ${name} and their badges?`)) return;
      req = () => api('DELETE', `/users/${enc(name)}`);
    } else if (action === 'pin') {
      const pin = window.prompt(`New PIN for ${name} (4 to 32 digits; leave empty to clear the PIN):`, '');
      if (pin === null) return;
      req = () => api('POST', `/users/${enc(name)}/pin`, { pin: pin.trim() });
    } else {
      return;
    }
    await withButton(btn, async () => {
      try {
        const r = await req();
        flash(str(r.message) || 'Done.');
        if (action === 'delete' && state.editUser === name) setUserFormMode(null);
        await refreshUsers();
      } catch (e) {
        report(e);
      }
    });
  }

  async function onImport() {
    const input = $('import-file');
    const file = input.files && input.files[0];
    const out = $('import-result');
    if (!file) {
      flash('Choose a CSV file to import first.', true);
      return;
    }
    await withButton($('import-submit'), async () => {
      try {
        let text = await file.text();
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // Excel's byte-order mark
        const r = await api('POST', '/users/import', text, { contentType: 'text/csv' });
        const n = Number(r.imported) || 0;
        const errors = Array.isArray(r.errors) ? r.errors : [];
        let summary = `imported ${n} user${n === 1 ? '' : 's'}`;
        if (errors.length) summary += `, ${errors.length} line${errors.length === 1 ? '' : 's'} with errors`;
        const list = el('ul', { class: 'import-errors' },
          ...errors.map((e) => el('li', null, `line ${str(e.line)}: ${str(e.message)}`)));
        out.replaceChildren(el('p', { class: 'import-summary' }, summary), ...(errors.length ? [list] : []));
        out.hidden = false;
        out.classList.toggle('has-errors', errors.length > 0);
        flash(summary, errors.length > 0);
        await refreshUsers();
      } catch (e) {
        report(e);
      }
    });
  }

  /* ---------- printers and readers ---------- */

  async function refreshPrinters() {
    const data = await api('GET', '/printers');
    if (state.csrf === null) return;
    state.printers = Array.isArray(data.printers) ? data.printers : [];
    syncRows($('printers-table'), 'printer', state.printers, (p) => p.name, createPrinterRow, updatePrinterRow,
      'No printers yet.');
    fillSelect($('reader-printer'), printerNames(), undefined, '(add a printer first)');
  }

  function createPrinterRow() {
    const tr = cells(el('tr'), 6);
    tr.append(el('td', { class: 'actions' },
      button('details', 'Details'), button('edit', 'Edit'), button('delete', 'Delete', 'btn small danger')));
    return tr;
  }

  /* The printer's last SNMP poll (PrinterLogicServiceSNMP): facts,
   * supplies with their levels, alerts; every value as text. */
  async function showPrinterDetail(name) {
    const d = await api('GET', `/printers/${enc(name)}`);
    const st = d.snmp_status || {};
    const snmp = st.snmp || {};
    setText($('printer-detail-title'), `Printer ${str(d.name)}: ${str(d.status)}`);
    const facts = $('printer-detail-facts');
    facts.replaceChildren();
    const polled = st.polled_ms ? new Date(st.polled_ms).toLocaleString() : 'not polled yet';
    const rows = [['Status', str(d.status)], ['Detail', str(st.why)], ['Polled', polled],
      ['SNMP options', str(d.snmp_options)], ['Model', str(snmp.sysdescr)], ['Serial', str(snmp.serial)],
      ['Pages', snmp.pages === null || snmp.pages === undefined ? '' : String(snmp.pages)],
      ['Errors', listText(snmp.errors)], ['Alerts', listText(st.alerts)]];
    for (const [k, v] of rows) {
      if (!v) continue;
      facts.append(el('dt', null, k), el('dd', null, v));
    }
    const tb = $('printer-detail-supplies').tBodies[0];
    tb.replaceChildren();
    for (const sup of Array.isArray(snmp.supplies) ? snmp.supplies : []) {
      const pct = typeof sup.percent === 'number' ? `${sup.percent}%` : str(sup.level_text || 'unknown');
      tb.append(el('tr', null, el('td', null, str(sup.description)), el('td', null, str(sup.class)),
        el('td', null, pct)));
    }
    const ul = $('printer-detail-alerts');
    ul.replaceChildren();
    for (const a of Array.isArray(snmp.printer_alerts) ? snmp.printer_alerts : []) {
      ul.append(el('li', null, `${str(a.severity)}: ${str(a.description)} (code ${str(a.code)})`));
    }
    $('printer-detail').hidden = false;
  }

  /* The printer form adds, or (after a row's Edit) saves one printer's
   * URI, location, formats, e-mail address and guest flag with PUT; its
   * name stays. */
  function setPrinterFormMode(p) {
    const form = $('printer-form');
    form.reset();
    state.editPrinter = p ? str(p.name) : null;
    const editing = state.editPrinter !== null;
    $('printer-name').readOnly = editing;
    $('printer-cancel').hidden = !editing;
    setText($('printer-submit'), editing ? 'Save changes' : 'Add printer');
    setText($('printer-form-title'), editing ? `Edit printer ${state.editPrinter}` : 'Add a printer');
    form.classList.toggle('editing', editing);
    if (editing) {
      $('printer-name').value = state.editPrinter;
      $('printer-uri').value = str(p.uri);
      $('printer-location').value = str(p.location);
      $('printer-formats').value = Array.isArray(p.formats) ? listText(p.formats, ',') : str(p.formats);
      $('printer-email').value = str(p.email);
      $('printer-guest').checked = p.guest === true;
    }
  }

  async function onPrinterAction(ev) {
    const btn = ev.target.closest('button[data-action]');
    if (!btn) return;
    if (btn.getAttribute('data-action') === 'details') {
      try {
        await showPrinterDetail(rowKey(btn, 'printer'));
      } catch (e) {
        flash(e.message || String(e), true);
      }
      return;
    }
    if (btn.getAttribute('data-action') === 'edit') {
      const name = rowKey(btn, 'printer');
      const p = state.printers.find((x) => str(x.name) === name);
      if (!p) return;
      setPrinterFormMode(p);
      $('printer-form').scrollIntoView({ block: 'nearest' });
      $('printer-uri').focus();
      return;
    }
    await onDeleteRow(ev, 'printer', '/printers', 'Printer', async () => {
      const name = rowKey(btn, 'printer');
      if (state.editPrinter !== null && state.editPrinter === name) setPrinterFormMode(null);
      await refreshPrinters();
    });
  }

  function updatePrinterRow(tr, p) {
    const c = tr.cells;
    setText(c[0], p.name);
    setText(c[1], p.uri);
    setText(c[2], p.location);
    setText(c[3], listText(p.formats) || 'any');
    c[3].classList.toggle('muted', !listText(p.formats));
    setText(c[4], str(p.status || '-'));
    c[4].setAttribute('data-status', str(p.status || '-'));
    setText(c[5], str(p.email) ? str(p.email) + (p.guest === true ? ' (guest)' : '') : '\u2013');
    c[5].classList.toggle('muted', !str(p.email));
  }

  async function refreshReaders() {
    const data = await api('GET', '/readers');
    if (state.csrf === null) return;
    state.readers = Array.isArray(data.readers) ? data.readers : [];
    syncRows($('readers-table'), 'reader', state.readers, (r) => r.name, createReaderRow, updateReaderRow,
      'No badge readers yet.');
  }

  function createReaderRow() {
    const tr = cells(el('tr'), 7);
    tr.cells[3].className = 'num';
    tr.cells[6].className = 'mono';
    tr.append(el('td', { class: 'actions' },
      button('edit', 'Edit'), button('delete', 'Delete', 'btn small danger')));
    return tr;
  }

  /* A stored format that is just a preset the form offers ({"preset":
   * "elatec-tcpconv2"}) shows as that preset; any other as custom JSON. */
  function readerPresetOf(format) {
    let f = format;
    if (typeof f === 'string') {
      try { f = JSON.parse(f); } catch (_) { return { preset: '', text: str(format) }; }
    }
    const offered = Array.from($('reader-preset').options, (o) => o.value).filter((v) => v !== '');
    if (f && typeof f === 'object' && !Array.isArray(f) && Object.keys(f).length === 1 &&
        offered.includes(f.preset)) {
      return { preset: f.preset, text: '' };
    }
    return { preset: '', text: JSON.stringify(f) };
  }

  /* The reader form adds, or (after a row's Edit) saves every field of one
   * reader with PUT; its name stays, as a printer's does. */
  function setReaderFormMode(r) {
    const form = $('reader-form');
    form.reset();
    state.editReader = r ? str(r.name) : null;
    const editing = state.editReader !== null;
    $('reader-name').readOnly = editing;
    $('reader-cancel').hidden = !editing;
    setText($('reader-submit'), editing ? 'Save changes' : 'Add reader');
    setText($('reader-form-title'), editing ? `Edit badge reader ${state.editReader}` : 'Add a badge reader');
    form.classList.toggle('editing', editing);
    fillSelect($('reader-printer'), printerNames(), editing ? str(r.printer) : undefined, '(add a printer first)');
    if (editing) {
      $('reader-name').value = state.editReader;
      $('reader-address').value = str(r.address);
      $('reader-direction').value = str(r.direction) || 'connect';
      $('reader-port').value = r.port ? String(r.port) : '';
      $('reader-mode').value = str(r.mode) || 'most-recent';
      const f = readerPresetOf(r.format);
      $('reader-preset').value = f.preset;
      $('reader-format').value = f.text;
    }
    syncReaderForm();
  }

  async function onReaderAction(ev) {
    const btn = ev.target.closest('button[data-action]');
    if (!btn) return;
    if (btn.getAttribute('data-action') === 'edit') {
      const name = rowKey(btn, 'reader');
      const r = state.readers.find((x) => str(x.name) === name);
      if (!r) return;
      setReaderFormMode(r);
      $('reader-form').scrollIntoView({ block: 'nearest' });
      $('reader-address').focus();
      return;
    }
    await onDeleteRow(ev, 'reader', '/readers', 'Reader', async () => {
      const name = rowKey(btn, 'reader');
      if (state.editReader !== null && state.editReader === name) setReaderFormMode(null);
      await refreshReaders();
    });
  }

  function updateReaderRow(tr, r) {
    const c = tr.cells;
    setText(c[0], r.name);
    setText(c[1], r.address);
    setText(c[2], r.direction);
    setText(c[3], r.port ? r.port : '');
    setText(c[4], r.printer);
    setText(c[5], r.mode);
    setText(c[6], typeof r.format === 'object' && r.format !== null ? JSON.stringify(r.format) : r.format);
  }

  async function refreshPrintersPage() {
    const results = await Promise.allSettled([refreshPrinters(), refreshReaders()]);
    for (const r of results) if (r.status === 'rejected') report(r.reason);
  }

  async function onPrinterSubmit(ev) {
    ev.preventDefault();
    const body = {
      name: $('printer-name').value.trim(),
      uri: $('printer-uri').value.trim(),
      location: $('printer-location').value.trim(),
      formats: $('printer-formats').value.trim(),
      email: $('printer-email').value.trim(),
      guest: $('printer-guest').checked,
    };
    if (!body.name || !body.uri) {
      flash('A printer needs a name and a URI.', true);
      return;
    }
    const editing = state.editPrinter;
    await withButton($('printer-submit'), async () => {
      try {
        if (editing !== null) {
          const fields = { uri: body.uri, location: body.location, formats: body.formats,
            email: body.email, guest: body.guest };
          const r = await api('PUT', `/printers/${enc(editing)}`, fields);
          flash(str(r.message) || `Printer ${editing} saved.`);
        } else {
          const r = await api('POST', '/printers', body);
          flash(str(r.message) || `Printer ${body.name} added.`);
        }
        setPrinterFormMode(null);
        await refreshPrinters();
      } catch (e) {
        report(e);
      }
    });
  }

  async function onDeleteRow(ev, attr, path, noun, after) {
    const btn = ev.target.closest('button[data-action="delete"]');
    if (!btn) return;
    const name = rowKey(btn, attr);
    if (name === null) return;
    await withButton(btn, async () => {
      try {
        const r = await api('DELETE', `${path}/${enc(name)}`);
        flash(str(r.message) || `${noun} ${name} deleted.`);
        await after();
      } catch (e) {
        report(e);
      }
    });
  }

  function syncReaderForm() {
    const custom = $('reader-preset').value === '';
    $('reader-format').disabled = !custom;
    $('reader-port').required = $('reader-direction').value === 'listen';
  }

  async function onReaderSubmit(ev) {
    ev.preventDefault();
    const body = {
      name: $('reader-name').value.trim(),
      address: $('reader-address').value.trim(),
      direction: $('reader-direction').value,
      printer: $('reader-printer').value,
      mode: $('reader-mode').value,
    };
    const port = $('reader-port').value.trim();
    if (port !== '') {
      const n = Number(port);
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        flash('The port is a number from 1 to 65535.', true);
        return;
      }
      body.port = n;
    }
    const preset = $('reader-preset').value;
    if (preset) {
      body.preset = preset;
    } else {
      const text = $('reader-format').value.trim();
      if (!text) {
        flash('Choose a preset, or enter the frame format as a JSON object.', true);
        return;
      }
      let fmt;
      try {
        fmt = JSON.parse(text);
      } catch (e) {
        flash(`The format is not valid JSON: ${e.message}`, true);
        return;
      }
      if (fmt === null || typeof fmt !== 'object' || Array.isArray(fmt)) {
        flash('The format must be a JSON object, e.g. {"preset": "rfideas-e241", "base": "hex"}.', true);
        return;
      }
      body.format = fmt;
    }
    const editing = state.editReader;
    await withButton($('reader-submit'), async () => {
      try {
        if (editing !== null) {
          const fields = { ...body };
          delete fields.name;
          const r = await api('PUT', `/readers/${enc(editing)}`, fields);
          flash(str(r.message) || `Reader ${editing} saved.`);
        } else {
          const r = await api('POST', '/readers', body);
          flash(str(r.message) || `Reader ${body.name} added.`);
        }
        setReaderFormMode(null);
        await refreshReaders();
      } catch (e) {
        report(e);
      }
    });
  }

  /* ---------- history ---------- */

  const HISTORY_FIELDS = ['user', 'title', 'printer', 'pages', 'size', 'workstation', 'service', 'detail'];

  async function refreshHistory() {
    let n = parseInt($('history-limit').value, 10);
    if (!(n >= 1)) n = 200;
    n = Math.min(n, 2000);
    /* one service's events only (off-network jobs: the OffNetwork
     * service), and the export the same */
    const svc = $('history-service').value;
    const only = svc ? `&service=${encodeURIComponent(svc)}` : '';
    $('history-export').href = `/api/v1/history.csv${svc ? `?service=${encodeURIComponent(svc)}` : ''}`;
    const data = await api('GET', `/history?limit=${n}${only}`);
    if (state.csrf === null) return;
    const events = Array.isArray(data.events) ? data.events : [];
    const tbody = $('history-table').tBodies[0];
    const rows = events.map((ev) => {
      ev = ev && typeof ev === 'object' ? ev : {};
      const evName = str(ev.event);
      const tr = el('tr', { class: 'event' },
        el('td', { class: 'time', title: str(ev.time) }, fmtTime(ev.time)),
        el('td', null, el('span', { class: /^[a-z0-9-]+$/.test(evName) ? `badge ev-${evName}` : 'badge' }, evName)));
      for (const f of HISTORY_FIELDS) {
        const v = ev[f];
        const text = f === 'size' ? (v === undefined || v === null ? '' : fmtSize(v)) :
          f === 'pages' && v === null ? '\u2013' :
          f === 'service' ? sourceName(v) :
          (typeof v === 'object' && v !== null ? JSON.stringify(v) : str(v));
        tr.append(el('td', { class: f === 'pages' || f === 'size' ? 'num' : null }, text));
      }
      if (ev.job_id) tr.title = `Job ${str(ev.job_id)}`;
      return tr;
    });
    if (!rows.length) {
      rows.push(el('tr', { class: 'empty' },
        el('td', { colspan: $('history-table').tHead.rows[0].cells.length }, 'No job events yet.')));
    }
    tbody.replaceChildren(...rows);
  }

  /* ---------- workstations (tokens) and administrators ---------- */

  // A new token's secret is shown once, in #token-new, until Done, another
  // page or the end of the session; nothing else keeps it.
  function hideNewToken() {
    $('token-new-value').value = '';
    setText($('token-new-ws'), '');
    $('token-new').hidden = true;
  }

  async function refreshTokens() {
    const data = await api('GET', '/tokens');
    if (state.csrf === null) return;
    const list = Array.isArray(data.tokens) ? data.tokens : [];
    syncRows($('tokens-table'), 'token', list, (t) => t.id, createTokenRow, updateTokenRow,
      'No workstation tokens yet.');
  }

  function createTokenRow() {
    const tr = cells(el('tr'), 5);
    tr.cells[1].className = 'mono';
    tr.append(el('td', { class: 'actions' }, button('revoke', 'Revoke', 'btn small danger')));
    return tr;
  }

  function updateTokenRow(tr, t) {
    const c = tr.cells;
    setText(c[0], t.workstation);
    setText(c[1], t.id);
    setText(c[2], fmtTime(t.created_ms));
    setText(c[3], t.last_used_ms ? fmtTime(t.last_used_ms) : 'never');
    c[3].classList.toggle('muted', !t.last_used_ms);
    setText(c[4], t.revoked ? 'revoked' : 'valid');
    c[4].className = t.revoked ? 'muted' : '';
    const b = tr.querySelector('button[data-action="revoke"]');
    if (b) b.hidden = !!t.revoked;
  }

  async function onTokenSubmit(ev) {
    ev.preventDefault();
    const ws = $('token-workstation').value.trim();
    if (!ws) {
      flash('A token needs a workstation name.', true);
      return;
    }
    await withButton($('token-submit'), async () => {
      try {
        const r = await api('POST', '/tokens', { workstation: ws });
        $('token-form').reset();
        setText($('token-new-ws'), ws);
        $('token-new-value').value = str(r.token);
        $('token-new').hidden = false;
        $('token-new-value').focus();
        $('token-new-value').select();
        flash(str(r.message) || `Token created for ${ws}.`);
        await refreshTokens();
      } catch (e) {
        report(e);
      }
    });
  }

  async function onTokenAction(ev) {
    const btn = ev.target.closest('button[data-action="revoke"]');
    if (!btn) return;
    const id = rowKey(btn, 'token');
    if (id === null) return;
    await withButton(btn, async () => {
      try {
        const r = await api('POST', `/tokens/${enc(id)}/revoke`);
        flash(str(r.message) || `Token ${id} revoked.`);
        await refreshTokens();
      } catch (e) {
        report(e);
      }
    });
  }

  async function refreshAdmins() {
    const data = await api('GET', '/admins');
    if (state.csrf === null) return;
    const list = Array.isArray(data.admins) ? data.admins : [];
    syncRows($('admins-table'), 'admin', list, (a) => a.name, createAdminRow, updateAdminRow,
      'No administrators.');
  }

  function createAdminRow() {
    const tr = cells(el('tr'), 3);
    tr.append(el('td', { class: 'actions' }, button('delete', 'Delete', 'btn small danger')));
    return tr;
  }

  function updateAdminRow(tr, a) {
    const c = tr.cells;
    setText(c[0], a.you ? `${str(a.name)} (you)` : a.name);
    setText(c[1], fmtTime(a.created_ms));
    setText(c[2], fmtTime(a.updated_ms));
    const b = tr.querySelector('button[data-action="delete"]');
    if (b) b.hidden = !!a.you; // not yourself
  }

  function clearPasswords(...ids) {
    for (const id of ids) $(id).value = '';
  }

  async function onAdminSubmit(ev) {
    ev.preventDefault();
    const name = $('admin-name').value.trim();
    const pw = $('admin-password').value;
    if (!name || !pw) {
      flash('An administrator needs a name and a password.', true);
      return;
    }
    if (pw !== $('admin-password2').value) {
      flash('The two passwords differ.', true);
      return;
    }
    await withButton($('admin-submit'), async () => {
      try {
        const r = await api('POST', '/admins', { name, password: pw });
        $('admin-form').reset();
        flash(str(r.message) || `Administrator ${name} added.`);
        await refreshAdmins();
      } catch (e) {
        report(e);
      } finally {
        clearPasswords('admin-password', 'admin-password2');
      }
    });
  }

  async function onPasswdSubmit(ev) {
    ev.preventDefault();
    const current = $('passwd-current').value;
    const pw = $('passwd-new').value;
    if (!current || !pw) {
      flash('Give your current password and the new one.', true);
      return;
    }
    if (pw !== $('passwd-new2').value) {
      flash('The two new passwords differ.', true);
      return;
    }
    await withButton($('passwd-submit'), async () => {
      try {
        const r = await api('POST', `/admins/${enc(state.user)}/password`, { current, password: pw });
        flash(str(r.message) || 'Your password was changed.');
        await refreshAdmins();
      } catch (e) {
        report(e);
      } finally {
        clearPasswords('passwd-current', 'passwd-new', 'passwd-new2');
      }
    });
  }

  function resetAdminPages() {
    hideNewToken();
    for (const f of ['token-form', 'admin-form', 'passwd-form']) $(f).reset();
    for (const id of ['tokens-table', 'admins-table']) $(id).tBodies[0].replaceChildren();
  }

  function bindAdminPages() {
    window.addEventListener('hashchange', hideNewToken);
    $('token-new-done').addEventListener('click', hideNewToken);
    $('tokens-refresh').addEventListener('click', () => refreshTokens().catch(report));
    $('token-form').addEventListener('submit', onTokenSubmit);
    $('tokens-table').addEventListener('click', onTokenAction);
    $('admins-refresh').addEventListener('click', () => refreshAdmins().catch(report));
    $('admin-form').addEventListener('submit', onAdminSubmit);
    $('passwd-form').addEventListener('submit', onPasswdSubmit);
    $('admins-table').addEventListener('click',
      (ev) => onDeleteRow(ev, 'admin', '/admins', 'Administrator', refreshAdmins));
  }

  /* ---------- pages ---------- */

  const SHOW = {
    services: () => startPolling(refreshServices, 2000),
    logs: showLogs,
    jobs: () => startPolling(refreshJobs, 5000),
    users: () => refreshUsers().catch(report),
    printers: () => refreshPrintersPage(),
    history: () => refreshHistory().catch(report),
    workstations: () => { hideNewToken(); refreshTokens().catch(report); },
    admins: () => refreshAdmins().catch(report),
  };

  /* ---------- wiring ---------- */

  function bind() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', onLogout);
    $('flash').addEventListener('click', clearFlash);
    window.addEventListener('hashchange', route);

    $('services-table').addEventListener('click', onServiceAction);

    $('log-controls').addEventListener('submit', (ev) => { ev.preventDefault(); reloadLog(); });
    $('log-service').addEventListener('change', reloadLog);
    $('log-lines').addEventListener('change', reloadLog);
    $('log-follow').addEventListener('change', () => {
      if (state.page === 'logs' && $('log-follow').checked) {
        startPolling(logTick, 1000);
        scrollLog(true);
      }
    });

    let jobsTimer = null;
    $('jobs-controls').addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (state.page === 'jobs') startPolling(refreshJobs, 5000);
    });
    $('jobs-user').addEventListener('input', () => {
      resetJobsPages();
      clearTimeout(jobsTimer);
      jobsTimer = setTimeout(() => { if (state.page === 'jobs') startPolling(refreshJobs, 5000); }, 300);
    });
    $('jobs-table').addEventListener('click', onJobAction);
    $('jobs-per-page').addEventListener('change', () => {
      resetJobsPages();
      if (state.page === 'jobs') startPolling(refreshJobs, 5000);
    });
    $('jobs-prev').addEventListener('click', () => jobsPageBy(-1));
    $('jobs-next').addEventListener('click', () => jobsPageBy(1));

    $('users-refresh').addEventListener('click', () => refreshUsers().catch(report));
    $('users-table').addEventListener('click', onUserAction);
    $('user-form').addEventListener('submit', onUserSubmit);
    $('user-cancel').addEventListener('click', () => setUserFormMode(null));
    $('import-submit').addEventListener('click', onImport);

    $('printers-refresh').addEventListener('click', refreshPrintersPage);
    $('printer-form').addEventListener('submit', onPrinterSubmit);
    $('printers-table').addEventListener('click', onPrinterAction);
    $('printer-detail-close').addEventListener('click', () => { $('printer-detail').hidden = true; });
    $('printer-cancel').addEventListener('click', () => setPrinterFormMode(null));
    $('reader-form').addEventListener('submit', onReaderSubmit);
    $('reader-form').addEventListener('reset', () => setTimeout(syncReaderForm, 0));
    $('reader-preset').addEventListener('change', syncReaderForm);
    $('reader-direction').addEventListener('change', syncReaderForm);
    $('readers-table').addEventListener('click', onReaderAction);
    $('reader-cancel').addEventListener('click', () => setReaderFormMode(null));

    $('history-controls').addEventListener('submit', (ev) => {
      ev.preventDefault();
      refreshHistory().catch(report);
    });
    $('history-limit').addEventListener('change', () => refreshHistory().catch(report));
    $('history-service').addEventListener('change', () => refreshHistory().catch(report));

    bindAdminPages();
  }

  async function boot() {
    bind();
    syncReaderForm();
    try {
      const s = await api('GET', '/session', undefined, { allow401: true });
      startSession(s);
    } catch (e) {
      showLogin(e.status === 401 ? '' : e.message);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
