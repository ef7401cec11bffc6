#!/usr/bin/env node
// Drives Debian's headless Chromium (playwright-core) against the /admin dashboard of a running relay.
//
//   node admin.mjs --base http://127.0.0.1:PORT --out DIR --token TOKEN --names a,b,c --kick UUID
//       opens /admin, enters the token when the page asks for it, waits until the client table shows every name in
//       --names, screenshots the page (admin-dashboard.png), filters the table by the kicked client's name, clicks its
//       Kick button and waits until it is gone, then waits until the messages chart has moved (a new point with
//       messages above zero; the test keeps clients talking) and screenshots again (admin-after-kick.png).
//
// Prints progress to stderr and one JSON result line to stdout; exit 0 on success, 1 with the reason otherwise.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT_MS, WATCHDOG_MS, finish, loadPlaywright, log } from './chromium.mjs';

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    out: { type: 'string' },
    token: { type: 'string' },
    names: { type: 'string' },
    kick: { type: 'string' },
  },
});

if (!opts.base || !opts.out || !opts.names || !opts.kick) {
  finish({ ok: false, error: 'usage: admin.mjs --base URL --out DIR [--token TOKEN] --names a,b --kick UUID' });
}
mkdirSync(opts.out, { recursive: true });

const playwright = await loadPlaywright();

let browser;
let page;
const errors = [];
setTimeout(() => fail(new Error(`watchdog: the dashboard test took longer than ${WATCHDOG_MS / 1000} s`)), WATCHDOG_MS).unref();

async function fail(error) {
  log('FAILED:', error.stack ?? String(error));
  await page?.screenshot({ path: join(opts.out, 'admin-failed.png'), fullPage: true, timeout: 5000 }).catch(() => {});
  const status = await page?.textContent('#status').catch(() => null);
  await browser?.close().catch(() => {});
  finish({ ok: false, error: String(error.message ?? error), status, errors });
}

async function waitFor(what, predicate, arg) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: STEP_TIMEOUT_MS, polling: 50 });
  } catch {
    const status = await page.textContent('#status').catch(() => null);
    throw new Error(`no ${what} within ${STEP_TIMEOUT_MS / 1000} s (page status: ${status})`);
  }
  log('page has', what);
}

const chart = () => page.$eval('#chart-messages', (c) => ({ points: Number(c.dataset.points), max: Number(c.dataset.max) }));

try {
  browser = await playwright.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_TIMEOUT_MS });
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
  page.on('console', (msg) => log(`console.${msg.type()}:`, msg.text()));
  page.on('pageerror', (error) => { errors.push(error.message); log('page error:', error.message); });
  // A Content-Security-Policy violation shows as a console error; the dashboard must cause none. (The 401s before
  // the token is entered are console errors too, and expected.)
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().includes('status of 401')) errors.push(msg.text());
  });

  const url = `${opts.base.replace(/\/$/, '')}/admin`;
  const response = await page.goto(url, { timeout: STEP_TIMEOUT_MS });
  if (!response?.ok()) throw new Error(`${url} answered ${response?.status()}`);
  const csp = response.headers()['content-security-policy'] ?? '';

  if (opts.token) {
    await waitFor('token prompt', () => !document.getElementById('token-form').hidden);
    await page.fill('#token', opts.token);
    await page.click('#token-form button[type=submit]');
  }

  const names = opts.names.split(',');
  await waitFor(`clients ${names.join(', ')}`, (expected) => {
    const shown = [...document.querySelectorAll('#client-table tbody tr td:first-child')].map((td) => td.textContent);
    return expected.every((name) => shown.includes(name));
  }, names);
  const before = await chart();
  await page.screenshot({ path: join(opts.out, 'admin-dashboard.png'), fullPage: true });

  const kicked = await page.$eval(`#client-table tr[data-uuid="${opts.kick}"] td:first-child`, (td) => td.textContent);
  await page.fill('#filter-name', kicked);
  await waitFor('the table filtered by name', (name) =>
    [...document.querySelectorAll('#client-table tbody tr td:first-child')].every((td) => td.textContent.includes(name)), kicked);
  await page.click(`#client-table tr[data-uuid="${opts.kick}"] button.kick`);
  await waitFor('the kicked client gone', (uuid) => !document.querySelector(`#client-table tr[data-uuid="${uuid}"]`)
    && document.getElementById('action').textContent.includes('with 1008'), opts.kick);
  await page.fill('#filter-name', '');

  await waitFor('the messages chart moving', (first) => {
    const c = document.getElementById('chart-messages');
    return Number(c.dataset.points) > first && Number(c.dataset.max) > 0;
  }, before.points);
  const after = await chart();
  const counts = await page.$eval('#connections', (e) => Number(e.textContent));
  await page.screenshot({ path: join(opts.out, 'admin-after-kick.png'), fullPage: true });
  await browser.close();
  finish({ ok: errors.length === 0, kicked: opts.kick, kickedName: kicked, chartBefore: before, chartAfter: after, connections: counts, csp, errors });
} catch (error) {
  await fail(error);
}
