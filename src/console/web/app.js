// arca console: plain ES module, no framework and no build step. State arrives as a snapshot then one change
// per informer event over Server-Sent Events (/api/events); views re-render from that state.
const $ = (selector, root = document) => root.querySelector(selector);
const state = { session: null, permissions: {}, backup: new Map(), restore: new Map(), schedule: new Map(), location: new Map() };
let view = 'overview';
let events = null;
let sort = { key: 'created', descending: true };
let selectedBackup = null;
let restoreBackup = null;

// ---- helpers ----
const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
function age(timestamp) {
  if (!timestamp) return '';
  const seconds = Math.max(0, (Date.now() - Date.parse(timestamp)) / 1000);
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}
function until(timestamp) {
  if (!timestamp) return '';
  const seconds = (Date.parse(timestamp) - Date.now()) / 1000;
  if (seconds <= 0) return 'expired';
  return seconds < 172800 ? `in ${Math.round(seconds / 3600)}h` : `in ${Math.round(seconds / 86400)}d`;
}
const phaseClass = (phase) => ({ Completed: 'ok', Available: 'ok', Failed: 'bad', FailedValidation: 'bad', Unavailable: 'bad', PartiallyFailed: 'warn' }[phase] || 'busy');
const badge = (phase) => `<span class="phase ${phaseClass(phase)}">${escapeHtml(phase || 'Unknown')}</span>`;

function show(message, kind = 'error') {
  const box = $('#message');
  box.textContent = message;
  box.className = kind;
  box.hidden = false;
  clearTimeout(show.timer);
  if (kind !== 'error') show.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

async function api(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrf;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await response.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* logs are text */ }
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/login') signedOut();
    throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  }
  return data;
}

function formData(form) {
  const out = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.type === 'checkbox') out[element.name] = element.checked;
    else if (element.type === 'number') { if (element.value !== '') out[element.name] = Number(element.value); }
    else if (element.value.trim() !== '') out[element.name] = element.value.trim();
  }
  return out;
}

// ---- sign-in ----
function signedOut() {
  state.session = null;
  if (events) { events.close(); events = null; }
  $('#app').hidden = true;
  $('#nav').hidden = true;
  $('#sign-out').hidden = true;
  $('#who').textContent = '';
  $('#login').hidden = false;
}

function signedIn(session, streaming = false) {
  performance.mark('session');
  state.session = session;
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#nav').hidden = false;
  $('#sign-out').hidden = false;
  $('#who').textContent = `${session.user} · namespace ${session.namespace}`;
  if (!streaming) connect();
  route();
}

$('#login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('#login-error').textContent = '';
  try {
    const session = await api('POST', '/api/login', { token: $('#token').value });
    $('#token').value = '';
    signedIn(session);
  } catch (error) {
    $('#login-error').textContent = `Sign-in failed: ${error.message}`;
  }
});
$('#sign-out').addEventListener('click', async () => {
  try { await api('POST', '/api/logout', {}); } catch { /* signed out anyway */ }
  signedOut();
});

// ---- live state ----
function connect() {
  if (events) events.close();
  events = new EventSource('/api/events');
  events.addEventListener('permissions', (event) => { state.permissions = JSON.parse(event.data); });
  events.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse(event.data);
    for (const kind of ['backup', 'restore', 'schedule', 'location']) {
      state[kind] = new Map((snapshot[kind] || []).map((object) => [object.name, object]));
    }
    performance.mark('snapshot');
    snapshotSeen = true;
    render();
  });
  events.addEventListener('change', (event) => {
    const change = JSON.parse(event.data);
    if (change.type === 'delete') state[change.kind].delete(change.object.name);
    else state[change.kind].set(change.object.name, change.object);
    // A location revalidated every second must not redraw 1,000 backup rows.
    if (view === 'overview' || (viewKinds[view] || []).includes(change.kind)) scheduleRender();
  });
  events.onerror = async () => {
    // EventSource retries by itself; a lost session needs the sign-in form instead.
    try { await api('GET', '/api/session'); } catch { /* api() shows the form on 401 */ }
  };
}

// The kinds each view shows (the schedules' calendars are drawn from their backups).
const viewKinds = { backups: ['backup'], restores: ['restore'], schedules: ['schedule', 'backup'] };
let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; render(); });
}

// ---- views ----
function route() {
  view = (location.hash || '#overview').slice(1) || 'overview';
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
  for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.view === view);
  render();
}
window.addEventListener('hashchange', route);

function forbiddenNote(kind) {
  return state.permissions[kind] === false ? `<tr><td colspan="8" class="error">forbidden: you may not list ${kind}s</td></tr>` : '';
}

let snapshotSeen = false;
function render() {
  if (!state.session) return;
  if (view === 'overview') renderOverview();
  if (view === 'backups') renderBackups();
  if (view === 'restores') renderRestores();
  if (view === 'schedules') renderSchedules();
  // The load-time measurement: navigation start to the first view drawn with the server's data.
  if (snapshotSeen && !window.__consoleFirstRender) {
    performance.mark('rendered');
    window.__consoleFirstRender = performance.now();
  }
}

function renderOverview() {
  const locations = [...state.location.values()];
  $('#locations').innerHTML = locations.length
    ? locations.map((l) => `<li>${badge(l.phase)} <b>${escapeHtml(l.name)}</b> ${escapeHtml(l.provider)} ${escapeHtml(l.bucket)}${l.default ? ' (default)' : ''}
        <small>${l.lastValidated ? `checked ${age(l.lastValidated)} ago` : ''} ${escapeHtml(l.message)}</small></li>`).join('')
    : `<li>${state.permissions.location === false ? 'forbidden' : 'none'}</li>`;
  const dayAgo = Date.now() - 86400000;
  const failures = [...state.backup.values(), ...state.restore.values()].filter((o) =>
    ['Failed', 'PartiallyFailed', 'FailedValidation'].includes(o.phase) && Date.parse(o.completed || o.created) >= dayAgo);
  $('#failures').innerHTML = `<span class="big ${failures.length ? 'bad' : 'ok'}">${failures.length}</span> failed or partially failed`;
  $('#failure-list').innerHTML = failures.slice(0, 10).map((o) => `<li>${badge(o.phase)} ${escapeHtml(o.name)} ${escapeHtml(o.failureReason)}</li>`).join('');
  const last = new Map();
  for (const b of state.backup.values()) {
    const key = b.schedule || '';
    const current = last.get(key);
    if (!current || (b.started || b.created) > (current.started || current.created)) last.set(key, b);
  }
  for (const s of state.schedule.values()) if (!last.has(s.name)) last.set(s.name, null);
  const rows = [...last.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([schedule, b]) =>
    `<tr data-name="${escapeHtml(b ? b.name : '')}"><td>${schedule ? escapeHtml(schedule) : '<i>manual</i>'}</td><td>${b ? escapeHtml(b.name) : '—'}</td>
      <td>${b ? badge(b.phase) : 'no backup yet'}</td><td>${b ? age(b.completed || b.started || b.created) : ''}</td></tr>`);
  $('#last-backups tbody').innerHTML = rows.join('') || `<tr><td colspan="4">${state.permissions.backup === false ? 'forbidden' : 'no backups'}</td></tr>`;
  renderSizeChart();
}

function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}
const backupSize = (b) => (b.tarballBytes === null && b.volumeBytes === null ? null : (b.tarballBytes || 0) + (b.volumeBytes || 0));

// One bar a day, newest on the right: what that day's finished backups stored, the tarballs (resources) below
// the volume data their PodVolumeBackups read. Backups that predate size recording are counted in the note.
function renderSizeChart(days = 30) {
  const today = new Date(); today.setUTCHours(0, 0, 0, 0);
  const bars = Array.from({ length: days }, () => ({ resources: 0, volumes: 0, count: 0 }));
  let unknown = 0, stored = 0;
  for (const b of state.backup.values()) {
    if (b.phase !== 'Completed' && b.phase !== 'PartiallyFailed') continue;
    if (backupSize(b) === null) { ++unknown; continue; }
    stored += backupSize(b);
    const day = Math.floor((today - Date.parse((b.started || b.created).slice(0, 10))) / 86400000);
    if (day < 0 || day >= days) continue;
    const bar = bars[days - 1 - day];
    bar.resources += b.tarballBytes || 0; bar.volumes += b.volumeBytes || 0; ++bar.count;
  }
  const most = Math.max(1, ...bars.map((b) => b.resources + b.volumes));
  const width = 600 / days;
  $('#size-chart').innerHTML = bars.map((b, i) => {
    const date = new Date(today - (days - 1 - i) * 86400000).toISOString().slice(0, 10);
    const r = (110 * b.resources) / most, v = (110 * b.volumes) / most;
    const title = `<title>${date}: ${b.count} backups, ${bytes(b.resources)} resources, ${bytes(b.volumes)} volume data</title>`;
    return `<g data-date="${date}" data-bytes="${b.resources + b.volumes}">${title}
      <rect class="resources" x="${i * width + 1}" y="${120 - r}" width="${width - 2}" height="${r}"></rect>
      <rect class="volumes" x="${i * width + 1}" y="${120 - r - v}" width="${width - 2}" height="${v}"></rect></g>`;
  }).join('');
  $('#size-note').textContent = `${bytes(stored)} in the listed backups (largest day ${bytes(most === 1 ? 0 : most)})` +
    (unknown ? `; ${unknown} older backups have no recorded size` : '');
}

// Encryption, signature and the last verification of a backup, as one short cell.
function trust(b) {
  const parts = [];
  if (b.encrypted) parts.push('encrypted');
  if (b.signed) parts.push('signed');
  const verdict = b.verification ? ` <span class="phase ${b.verification === 'Verified' ? 'ok' : b.verification === 'Failed' ? 'bad' : 'warn'}"
    title="${escapeHtml(b.verificationMessage)}">${escapeHtml(b.verification)}</span>` : '';
  return `${escapeHtml(parts.join(', '))}${verdict}`;
}

function renderBackups() {
  const filter = $('#backup-filter').value.trim().toLowerCase();
  const phase = $('#backup-phase').value;
  let backups = [...state.backup.values()].filter((b) => (!phase || b.phase === phase) &&
    (!filter || b.name.includes(filter) || b.schedule.includes(filter) || b.includedNamespaces.join(',').includes(filter)));
  const { key, descending } = sort;
  backups.sort((a, b) => {
    const value = (o) => (key === 'size' ? backupSize(o) ?? -1 : o[key]);
    const x = value(a), y = value(b);
    const order = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
    return descending ? -order : order;
  });
  $('#backup-count').textContent = `${backups.length} of ${state.backup.size}`;
  const rows = backups.map((b) => `<tr data-name="${escapeHtml(b.name)}"${b.name === selectedBackup ? ' class="selected"' : ''}>
    <td><a href="#backups" data-backup="${escapeHtml(b.name)}">${escapeHtml(b.name)}</a></td><td>${badge(b.phase)}</td>
    <td>${b.totalItems ? `${b.itemsBackedUp}/${b.totalItems}` : ''}</td><td>${b.warnings || ''}</td><td>${b.errors || ''}</td>
    <td title="${escapeHtml(b.created)}">${age(b.created)}</td><td class="size">${bytes(backupSize(b))}</td><td>${until(b.expiration)}</td><td>${escapeHtml(b.storageLocation)}</td><td class="trust">${trust(b)}</td></tr>`);
  $('#backups-table tbody').innerHTML = forbiddenNote('backup') + rows.join('');
  if (selectedBackup) renderBackupDetail();
}

let detailShown = '';
function renderBackupDetail() {
  const b = state.backup.get(selectedBackup);
  const panel = $('#backup-detail');
  if (!b) { panel.hidden = true; detailShown = ''; return; }
  panel.hidden = false;
  // Redrawn only when the backup changed: the buttons stay put and what Describe/Logs showed stays.
  const shown = JSON.stringify(b);
  if (shown === detailShown) return;
  detailShown = shown;
  const done = b.phase === 'Completed' || b.phase === 'PartiallyFailed';
  panel.innerHTML = `<h2>Backup ${escapeHtml(b.name)} ${badge(b.phase)}</h2>
    <dl><dt>Namespaces</dt><dd>${escapeHtml(b.includedNamespaces.join(', '))}</dd>
    <dt>Items</dt><dd>${b.itemsBackedUp} of ${b.totalItems}</dd><dt>Warnings / errors</dt><dd>${b.warnings} / ${b.errors}</dd>
    <dt>Started</dt><dd>${escapeHtml(b.started)}</dd><dt>Completed</dt><dd>${escapeHtml(b.completed)}</dd>
    <dt>Expires</dt><dd>${escapeHtml(b.expiration)} ${until(b.expiration)}</dd>
    <dt>Protection</dt><dd>${b.encrypted || b.signed ? escapeHtml([b.encrypted && 'encrypted (age)', b.signed && 'signed (Ed25519)'].filter(Boolean).join(', ')) : 'none'}</dd>
    <dt>Verification</dt><dd id="verification">${b.verification ? `${trust({ ...b, encrypted: false, signed: false })} ${escapeHtml(b.verificationMessage)} <small>${age(b.verifiedAt)} ago</small>` : 'not verified yet (arca backup verify)'}</dd>
    ${b.failureReason ? `<dt>Failure</dt><dd class="error">${escapeHtml(b.failureReason)}</dd>` : ''}</dl>
    <button id="restore-this" ${done ? '' : 'disabled'}>Restore…</button> <button id="show-describe">Describe</button>
    <button id="show-resources" ${done ? '' : 'disabled'}>Resources</button>
    <button id="show-logs" ${done || b.phase === 'Failed' ? '' : 'disabled'}>Logs</button>
    ${done ? `<a id="download-backup" href="/api/backups/${encodeURIComponent(b.name)}/download" download>Download tarball</a>` : ''}
    <button id="delete-backup" class="danger">Delete</button>
    <pre id="backup-extra"></pre>`;
  $('#restore-this').onclick = () => openRestore(b.name);
  $('#show-describe').onclick = async () => {
    try { $('#backup-extra').textContent = JSON.stringify((await api('GET', `/api/backups/${b.name}`)).object, null, 2); } catch (e) { show(e.message); }
  };
  $('#show-resources').onclick = async () => {
    try {
      const list = await api('GET', `/api/backups/${b.name}/resources`);
      $('#backup-extra').textContent = Object.entries(list).map(([kind, items]) => `${kind}:\n  ${items.join('\n  ')}`).join('\n');
    } catch (e) { show(e.message); }
  };
  $('#show-logs').onclick = async () => {
    try { $('#backup-extra').textContent = await api('GET', `/api/backups/${b.name}/logs`); } catch (e) { show(e.message); }
  };
  $('#delete-backup').onclick = async () => {
    if (!confirm(`Delete backup ${b.name} and its data in the storage location?`)) return;
    try { await api('DELETE', `/api/backups/${b.name}`); show(`Deletion of ${b.name} requested`, 'info'); } catch (e) { show(e.message); }
  };
}

// Per priority tier (resource type, in the order restored): finished tiers are summed up in the title, the one
// running is named with its count.
function tiers(r) {
  if (!r.tiers.length) return '';
  const [resource, done, total] = r.tiers[r.tiers.length - 1];
  const all = r.tiers.map(([name, d, t]) => `${name} ${d}/${t}`).join('\n');
  return `<small class="tiers" title="${escapeHtml(all)}" data-tiers="${r.tiers.length}">tier ${r.tiers.length}: ${escapeHtml(resource)} ${done}/${total}</small>`;
}

function renderRestores() {
  const restores = [...state.restore.values()].sort((a, b) => String(b.created).localeCompare(String(a.created)));
  $('#restores-table tbody').innerHTML = forbiddenNote('restore') + restores.map((r) => {
    const percent = r.totalItems ? Math.round((100 * r.itemsRestored) / r.totalItems) : (r.phase === 'Completed' ? 100 : 0);
    return `<tr data-name="${escapeHtml(r.name)}"><td>${escapeHtml(r.name)}</td><td>${escapeHtml(r.backup || r.schedule)}</td><td>${badge(r.phase)}</td>
      <td><progress max="100" value="${percent}"></progress> <span class="progress-text">${r.itemsRestored} of ${r.totalItems}</span>
        ${tiers(r)}</td>
      <td>${r.warnings || ''}</td><td>${r.errors || ''}</td><td>${age(r.started)}</td></tr>`;
  }).join('');
}

// A calendar of the last `days` days per schedule: one cell a day, coloured by the worst result of the
// backups that day (failed > partially failed > completed), hovering names them.
const severity = { Failed: 3, FailedValidation: 3, PartiallyFailed: 2, Completed: 1 };
function heatmap(schedule, days = 14) {
  const today = new Date(); today.setUTCHours(0, 0, 0, 0);
  const cells = Array.from({ length: days }, () => ({ worst: 0, names: [] }));
  for (const b of state.backup.values()) {
    if (b.schedule !== schedule) continue;
    const day = Math.floor((today - Date.parse((b.started || b.created).slice(0, 10))) / 86400000);
    if (day < 0 || day >= days) continue;
    const cell = cells[days - 1 - day];
    cell.worst = Math.max(cell.worst, severity[b.phase] || 0);
    cell.names.push(`${b.name}: ${b.phase}`);
  }
  const kind = ['none', 'ok', 'warn', 'bad'];
  return `<span class="heatmap">${cells.map((c) => `<i class="${kind[c.worst]}" title="${escapeHtml(c.names.join('\n'))}"></i>`).join('')}</span>`;
}

function renderSchedules() {
  const schedules = [...state.schedule.values()].sort((a, b) => a.name.localeCompare(b.name));
  $('#schedules-table tbody').innerHTML = forbiddenNote('schedule') + schedules.map((s) => `<tr data-name="${escapeHtml(s.name)}">
    <td>${escapeHtml(s.name)}</td><td><code>${escapeHtml(s.schedule)}</code></td><td>${s.paused ? '<span class="phase warn">Paused</span>' : badge(s.phase || 'Enabled')}</td>
    <td>${s.lastBackup ? `${age(s.lastBackup)} ago` : 'never'}</td><td>${s.nextRun ? escapeHtml(s.nextRun) : ''}</td>
    <td>${escapeHtml(s.includedNamespaces.join(', '))}</td><td>${heatmap(s.name)}</td>
    <td><button data-pause="${escapeHtml(s.name)}" data-paused="${s.paused}">${s.paused ? 'Unpause' : 'Pause'}</button></td></tr>`).join('');
}

// ---- actions ----
$('#backups-table thead').addEventListener('click', (event) => {
  const key = event.target.dataset.key;
  if (!key) return;
  sort = { key, descending: sort.key === key ? !sort.descending : false };
  renderBackups();
});
$('#backups-table tbody').addEventListener('click', (event) => {
  const name = event.target.dataset.backup;
  if (!name) return;
  event.preventDefault();
  selectedBackup = name;
  renderBackups();
});
$('#backup-filter').addEventListener('input', renderBackups);
$('#backup-phase').addEventListener('change', renderBackups);

for (const [button, form] of [['#new-backup', '#backup-form'], ['#new-schedule', '#schedule-form']]) {
  $(button).addEventListener('click', () => { $(form).hidden = false; });
}
for (const cancel of document.querySelectorAll('form .cancel')) cancel.addEventListener('click', (event) => { event.target.form.hidden = true; });

// The create forms: POST the fields, close the form, say what was made.
for (const [form, path, what, then] of [
  ['#backup-form', '/api/backups', 'Backup', (name) => { selectedBackup = name; renderBackups(); }],
  ['#schedule-form', '/api/schedules', 'Schedule', () => {}],
]) {
  $(form).addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const created = await api('POST', path, formData(event.target));
      event.target.hidden = true;
      event.target.reset();
      show(`${what} ${created.name} created`, 'info');
      then(created.name);
    } catch (e) { show(e.message); }
  });
}

$('#schedules-table tbody').addEventListener('click', async (event) => {
  const name = event.target.dataset.pause;
  if (!name) return;
  try { await api('PUT', `/api/schedules/${name}/pause`, { paused: event.target.dataset.paused !== 'true' }); } catch (e) { show(e.message); }
});

function openRestore(backup) {
  restoreBackup = backup;
  location.hash = '#restores';
  const form = $('#restore-form');
  form.reset();
  form.hidden = false;
  $('#restore-backup').textContent = backup;
  $('#dry-run-result').innerHTML = '';
  $('#run-restore').disabled = true;
}

// The unified diff as two columns, cluster | backup: context on both sides, a run of removed lines beside the
// run of added lines that replaces it.
function sideBySideHtml(diff) {
  const rows = [];
  let removed = [], added = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); ++i) {
      rows.push(`<tr><td class="${i < removed.length ? 'del' : ''}">${escapeHtml(removed[i] ?? '')}</td>` +
        `<td class="${i < added.length ? 'add' : ''}">${escapeHtml(added[i] ?? '')}</td></tr>`);
    }
    removed = []; added = [];
  };
  for (const line of diff.split('\n')) {
    if (line.startsWith('---') || line.startsWith('+++') || line === '') continue;
    if (line.startsWith('@@')) { flush(); rows.push(`<tr class="hunk"><td colspan="2">${escapeHtml(line)}</td></tr>`); continue; }
    if (line.startsWith('-')) { removed.push(line.slice(1)); continue; }
    if (line.startsWith('+')) { added.push(line.slice(1)); continue; }
    flush();
    rows.push(`<tr><td>${escapeHtml(line.slice(1))}</td><td>${escapeHtml(line.slice(1))}</td></tr>`);
  }
  flush();
  return `<table class="side-by-side"><thead><tr><th>in the cluster</th><th>from the backup</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function diffHtml(diff) {
  return diff.split('\n').map((line) => {
    const kind = line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : '';
    return `<span class="${kind}">${escapeHtml(line)}</span>`;
  }).join('\n');
}

$('#dry-run').addEventListener('click', async () => {
  const result = $('#dry-run-result');
  result.textContent = 'Running the dry run…';
  try {
    const answer = await api('POST', '/api/restores', { ...formData($('#restore-form')), backup: restoreBackup, dryRun: true });
    const counts = answer.counts;
    result.innerHTML = `<p class="summary">${counts['would create'] || 0} to create, ${counts['skipped, identical'] || 0} identical, ${counts.differs || 0} differ</p>
      <table class="dry-run"><thead><tr><th>Object</th><th>Verdict</th></tr></thead><tbody>${answer.items.map((item) =>
        `<tr class="verdict-${escapeHtml(item.verdict.replace(/\W+/g, '-'))}" data-id="${escapeHtml(item.id)}"><td>${escapeHtml(item.id)}</td><td>${escapeHtml(item.verdict)}</td></tr>
         ${item.diff ? `<tr class="diff"><td colspan="2">${$('#side-by-side').checked ? sideBySideHtml(item.diff) : `<pre>${diffHtml(item.diff)}</pre>`}</td></tr>` : ''}`).join('')}</tbody></table>
      ${answer.errors.map((e) => `<p class="error">${escapeHtml(e)}</p>`).join('')}`;
    $('#run-restore').disabled = false;
  } catch (e) {
    result.textContent = '';
    show(e.message);
  }
});

$('#restore-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const created = await api('POST', '/api/restores', { ...formData(event.target), backup: restoreBackup });
    event.target.hidden = true;
    show(`Restore ${created.name} started`, 'info');
  } catch (e) { show(e.message); }
});

// ---- start ----
(async () => {
  connect();  // the stream and the session check in parallel: the session cookie is all either needs
  try { signedIn(await api('GET', '/api/session'), true); } catch { signedOut(); }
})();
setInterval(() => { if (state.session && view === 'overview') renderOverview(); }, 30000);  // ages only; data is pushed
