// The console in headless Chromium (Debian's chromium, driven by playwright-core). Started by console_e2e_test.cc,
// which has set up kubelite, `arca server --console-address` and the data; the environment says where.
// Exits non-zero with one line per failed check.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const env = (name) => {
  if (!process.env[name]) throw new Error(`${name} is not set`);
  return process.env[name];
};
const url = env('CONSOLE_URL');
const listed = Number(env('BACKUPS_LISTED'));
const secretValues = ['czNjcjN0LXZhbHVl', 'bmV3LXNlY3JldA==', 's3cr3t-value', 'new-secret'];
const started = Date.now();
const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
const check = (condition, message) => { if (!condition) throw new Error(`check failed: ${message}`); };
const kubectl = (...args) => execFileSync('kubectl', ['--kubeconfig', env('KUBECONFIG'), ...args], { encoding: 'utf8' });

mkdirSync(env('PROFILE_DIR'), { recursive: true });
const context = await chromium.launchPersistentContext(env('PROFILE_DIR'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 860 },
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(20000);
const problems = [];
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

async function signIn(token) {
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
}
async function pageHasNoSecret() {
  const html = await page.content();
  for (const value of secretValues) check(!html.includes(value), `a Secret value (${value.slice(0, 4)}…) reached the page`);
}

try {
  step('a wrong token is refused');
  await page.goto(url);
  await page.waitForSelector('#login:not([hidden])');
  await signIn('not-a-valid-token');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.includes('refused'));
  check(await page.isHidden('#app'), 'the console opened for a wrong token');

  step('sign in; the overview lists the completed backup');
  await signIn(env('ADMIN_TOKEN'));
  await page.waitForSelector('#last-backups tr[data-name="first"] .phase.ok');
  check((await page.textContent('#last-backups')).includes('Completed'), 'overview: backup "first" not Completed');
  await page.waitForSelector('#locations .phase.ok');  // the storage location is Available

  step(`load time with ${listed} backups listed (best of 3 loads: the 2-core machine is shared)`);
  const loads = [];
  for (let i = 0; i < 3; ++i) {
    await page.goto('about:blank');  // a real page load, not a same-document hash change
    const before = Date.now();
    await page.goto(`${url}#backups`);
    await page.waitForFunction((n) => document.querySelectorAll('#backups-table tbody tr').length >= n, listed);
    const wall = Date.now() - before;
    const marks = await page.evaluate(() => [
      ['dom_content_loaded', performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd],
      ...performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])]);
    const inPage = await page.evaluate(() => window.__consoleFirstRender);
    loads.push({ inPage, wall });
    console.log(`LOAD_TIME_MS wall=${wall} navigation_start_to_rendered=${Math.round(inPage)} rows=${listed} ` +
      marks.map(([name, at]) => `${name}=${Math.round(at)}`).join(' '));
  }
  // The page's own clock, from navigation start to the table drawn with the server's data, is the load time.
  // The wall clock adds the driver's round trips (goto, polling for the rows); it only guards against something
  // grossly slow.
  const best = Math.min(...loads.map((l) => l.inPage));
  console.log(`LOAD_TIME_BEST_MS ${Math.round(best)}`);
  check(best < 1000, `the page took ${Math.round(best)} ms at best to show ${listed} backups`);
  check(Math.min(...loads.map((l) => l.wall)) < 3000, `the page took over 3 s (wall clock, driver included)`);

  step('filter and sort');
  await page.fill('#backup-filter', 'seeded-000');
  await page.waitForFunction(() => document.querySelectorAll('#backups-table tbody tr').length === 10);
  await page.fill('#backup-filter', '');

  step('create a backup from the UI and watch it reach Completed without reloading');
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.click('#new-backup');
  await page.fill('#backup-form input[name=name]', 'ui-backup');
  await page.fill('#backup-form input[name=includeNamespaces]', 'app');
  await page.click('#backup-form button[type=submit]');
  await page.waitForSelector('#backups-table tr[data-name="ui-backup"]');
  await page.waitForSelector('#backups-table tr[data-name="ui-backup"] .phase.ok', { timeout: 30000 });
  check(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
  check((await page.textContent('#backup-detail')).includes('Completed'), 'the detail panel does not show Completed');
  await page.click('#show-resources');
  await page.waitForFunction(() => document.querySelector('#backup-extra').textContent.includes('v1/ConfigMap:\n  app/'));
  check((await page.textContent('#backup-extra')).includes('app/settings'), 'the resource list lacks app/settings');
  await page.click('#show-logs');
  await page.waitForFunction(() => document.querySelector('#backup-extra').textContent.includes('level='));

  step('change the ConfigMap and the Secret; the dry run shows the diff');
  kubectl('-n', 'app', 'patch', 'configmap', 'settings', '--type', 'merge', '-p', '{"data":{"color":"green"}}');
  kubectl('-n', 'app', 'patch', 'secret', 'db', '--type', 'merge', '-p', '{"data":{"password":"bmV3LXNlY3JldA=="}}');
  await page.click('#backups-table a[data-backup="first"]');
  await page.click('#restore-this');
  await page.waitForSelector('#restore-form:not([hidden])');
  await page.click('#dry-run');
  const configmap = '#dry-run-result tr[data-id="configmaps/app/settings"]';
  await page.waitForSelector(configmap);
  check((await page.textContent(configmap)).includes('differs'), 'the changed ConfigMap is not "differs"');
  const diff = await page.evaluate((selector) => document.querySelector(selector).nextElementSibling.textContent, configmap);
  check(diff.includes('-    "color": "green"') && diff.includes('+    "color": "blue"'), `unexpected diff:\n${diff}`);
  await page.check('#side-by-side');
  await page.click('#dry-run');
  await page.waitForSelector('#dry-run-result table.side-by-side');
  const sideBySide = await page.evaluate(() => [...document.querySelectorAll('#dry-run-result table.side-by-side tr')]
    .map((row) => [...row.cells].map((cell) => cell.textContent.trim()).join(' | ')));
  check(sideBySide.includes('"color": "green", | "color": "blue",'), `side-by-side diff:\n${sideBySide.join('\n')}`);
  const secret = await page.textContent('#dry-run-result tr[data-id="secrets/app/db"]');
  check(secret.includes('differs'), 'the changed Secret is not "differs"');
  await pageHasNoSecret();
  await page.screenshot({ path: env('SCREENSHOT'), fullPage: false });

  step('run the restore (into app-copy) and watch its progress');
  await page.fill('#restore-form input[name=namespaceMappings]', 'app:app-copy');
  await page.click('#dry-run');
  await page.waitForSelector('#dry-run-result tr[data-id="configmaps/app-copy/settings"].verdict-would-create');
  await page.evaluate(() => {
    window.__progress = [];
    new MutationObserver(() => {
      for (const cell of document.querySelectorAll('#restores-table .progress-text')) {
        const text = `${cell.closest('tr').querySelector('.phase').textContent} ${cell.textContent}`;
        if (window.__progress[window.__progress.length - 1] !== text) window.__progress.push(text);
      }
    }).observe(document.querySelector('#restores-table tbody'), { childList: true, subtree: true, characterData: true });
  });
  await page.click('#run-restore');
  await page.waitForFunction(() => [...document.querySelectorAll('#restores-table tbody tr')].some((row) =>
    row.querySelector('.phase')?.textContent === 'Completed' && /^(\d+) of \1$/.test(row.querySelector('.progress-text').textContent) &&
    !row.querySelector('.progress-text').textContent.startsWith('0 ')), null, { timeout: 30000 });
  const progress = await page.evaluate(() => window.__progress);
  console.log(`restore progress seen: ${progress.join(' | ')}`);
  // The row came in through the event stream after the click (no reload); a five-item restore may finish between
  // two events, so intermediate states cannot be required, only that the live row reached its end.
  check(progress.length >= 1 && progress[progress.length - 1].startsWith('Completed'),
    `the restore row was not followed live to Completed: ${progress.join(' | ')}`);
  check(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
  // Per tier: the finished restore names its last tier with a full count, and lists every tier in its title.
  const tier = await page.$eval('#restores-table tbody tr .tiers', (t) => ({ text: t.textContent, all: t.title }));
  console.log(`restore tiers: ${tier.text} (${tier.all.replaceAll('\n', ', ')})`);
  check(/^tier \d+: \S+ (\d+)\/\1$/.test(tier.text), `the last tier is not shown complete: ${tier.text}`);
  check(/(^|\n)configmaps (\d+)\/\2(\n|$)/.test(tier.all), `the tiers lack a complete configmaps tier: ${tier.all}`);

  step('trust, download and the schedule calendar');
  await page.goto(`${url}#backups`);
  check((await page.textContent('#backups-table tr[data-name="first"] .trust')).includes('Verified'), 'backup "first" is not shown Verified');
  await page.click('#backups-table a[data-backup="first"]');
  await page.waitForSelector('#download-backup');
  check((await page.textContent('#verification')).includes('signature valid'), 'the detail lacks the verification message');
  const download = await page.evaluate(async () => {
    const response = await fetch(document.querySelector('#download-backup').href);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, disposition: response.headers.get('Content-Disposition'), size: bytes.length,
      gzip: bytes[0] === 0x1f && bytes[1] === 0x8b };
  });
  check(download.status === 200 && download.gzip && download.size > 100, `download: ${JSON.stringify(download)}`);
  check(download.disposition.includes('first-data.tar.gz'), `download is named: ${download.disposition}`);
  const sizeCell = await page.textContent('#backups-table tr[data-name="first"] .size');
  check(/^[0-9.]+ (B|KiB|MiB)$/.test(sizeCell), `backup "first" shows no size: "${sizeCell}"`);

  step('the size chart counts today\'s backups');
  await page.goto(`${url}#overview`);
  const today = new Date().toISOString().slice(0, 10);
  await page.waitForSelector(`#size-chart g[data-date="${today}"]`);
  const bars = await page.$$eval('#size-chart g', (gs) => gs.map((g) => [g.dataset.date, Number(g.dataset.bytes)]));
  const todayBytes = (bars.find(([date]) => date === today) || [0, 0])[1];
  check(bars.length === 30, `the chart has ${bars.length} bars, not 30`);
  check(todayBytes >= download.size, `today's bar (${todayBytes} bytes) is smaller than backup "first" (${download.size})`);
  check((await page.textContent('#size-note')).includes('older backups have no recorded size'),
    'the note does not count the seeded backups without a size');
  await page.goto(`${url}#schedules`);
  await page.waitForSelector('#schedules-table tr[data-name="hourly"] .heatmap i.ok');
  const cells = await page.$$eval('#schedules-table tr[data-name="hourly"] .heatmap i', (is) => is.map((i) => i.className));
  check(cells.length === 14 && cells[13] === 'ok' && cells[12] === 'bad', `the calendar of "hourly": ${cells.join(',')}`);

  step('create a schedule, pause it; delete a backup');
  await page.goto(`${url}#schedules`);
  await page.click('#new-schedule');
  await page.fill('#schedule-form input[name=name]', 'nightly');
  await page.fill('#schedule-form input[name=schedule]', '0 3 * * *');
  await page.fill('#schedule-form input[name=includeNamespaces]', 'app');
  await page.fill('#schedule-form input[name=keepLast]', '3');
  await page.click('#schedule-form button[type=submit]');
  await page.waitForSelector('#schedules-table tr[data-name="nightly"] button[data-paused="false"]');
  await page.click('#schedules-table tr[data-name="nightly"] button[data-pause]');
  await page.waitForSelector('#schedules-table tr[data-name="nightly"] button[data-paused="true"]');
  await page.goto(`${url}#backups`);
  await page.click('#backups-table a[data-backup="seeded-0001"]');
  await page.click('#show-describe');
  await page.waitForFunction(() => document.querySelector('#backup-extra').textContent.includes('"includedNamespaces"'));
  page.once('dialog', (dialog) => dialog.accept());
  await page.click('#delete-backup');
  await page.waitForSelector('#backups-table tr[data-name="seeded-0001"]', { state: 'detached', timeout: 30000 });

  step('CSRF: a write without the token is refused');
  const csrf = await page.evaluate(async () => (await fetch('/api/backups', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'csrf-backup' }) })).status);
  check(csrf === 403, `a write without the CSRF token got ${csrf}`);

  step('a user who may only read backups sees them and is told "forbidden" on create');
  await page.click('#sign-out');
  await page.waitForSelector('#login:not([hidden])');
  await signIn(env('VIEWER_TOKEN'));
  await page.goto(`${url}#backups`);
  await page.waitForFunction((n) => document.querySelectorAll('#backups-table tbody tr').length >= n, listed);
  await page.click('#new-backup');
  await page.fill('#backup-form input[name=name]', 'viewer-backup');
  await page.click('#backup-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#message').textContent.includes('forbidden'));
  console.log(`viewer sees: ${await page.textContent('#message')}`);
  await page.goto(`${url}#restores`);
  await page.waitForFunction(() => document.querySelector('#restores-table').textContent.includes('forbidden'));
  await pageHasNoSecret();
  check(problems.length === 0, problems.join('; '));
  step('all checks passed');
} catch (error) {
  console.error(error.message);
  try { await page.screenshot({ path: `${env('PROFILE_DIR')}/failure.png` }); } catch { /* best effort */ }
  console.error(`page text: ${(await page.textContent('body').catch(() => '')).slice(0, 2000)}`);
  process.exitCode = 1;
} finally {
  await context.close();
}
