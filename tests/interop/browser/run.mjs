#!/usr/bin/env node
// Drives Debian's headless Chromium (playwright-core) against the /demo page of a running relay.
//
//   node run.mjs two-pages   --base http://127.0.0.1:PORT --out DIR
//       two pages connect to each other through the relay and exchange a chat message each way.
//   node run.mjs with-python --base http://127.0.0.1:PORT --out DIR --role offer  --peer PYTHON_UUID [--uuid PAGE_UUID]
//   node run.mjs with-python --base http://127.0.0.1:PORT --out DIR --role answer --uuid PAGE_UUID
//       [--relay-address ws://127.0.0.1:OTHER_PORT/]: the page comes from --base but signals through that relay
//       one page and an aiortc peer (tests/interop/python/peer.py --mode chat) connect; the page offers
//       (--role offer) or waits for the Python peer's offer (--role answer). The page sends a message and
//       expects the peer's greeting and the echo of its message.
//   node run.mjs reconnect   --base http://127.0.0.1:PORT --out DIR --uuid PAGE_UUID
//       the page registers (prints {"event":"registered","count":1}); the test restarts the relay; the page
//       must reconnect and register again (count 2); the test then registers PAGE_UUID elsewhere: the page
//       must get 4004 and stop for good.
//   node run.mjs unreachable --base http://127.0.0.1:PORT --out DIR --relay-address ws://127.0.0.1:CLOSED_PORT/
//       the page points at a relay that is not there: it must show the failure and plan a reconnect.
//
// Prints progress to stderr and one JSON result line to stdout; exit 0 on success, 1 with the reason otherwise.
// Saves a screenshot of every page (PNG) in --out, also on failure.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { CHROMIUM, CHROMIUM_ARGS, STEP_TIMEOUT_MS, WATCHDOG_MS, finish, loadPlaywright, log } from './chromium.mjs';

const { positionals, values: opts } = parseArgs({
  allowPositionals: true,
  options: {
    base: { type: 'string' },
    out: { type: 'string' },
    role: { type: 'string' },
    peer: { type: 'string' },
    uuid: { type: 'string' },
    'relay-address': { type: 'string' },
  },
});
const scenario = positionals[0];

const playwright = await loadPlaywright();

if (!opts.base || !opts.out || !['two-pages', 'with-python', 'reconnect', 'unreachable'].includes(scenario)) {
  finish({ ok: false, error: 'usage: run.mjs two-pages|with-python|reconnect|unreachable --base URL --out DIR [--role offer|answer --peer UUID --uuid UUID]' });
}
mkdirSync(opts.out, { recursive: true });

const pages = [];
let browser;
let context;

setTimeout(() => fail(new Error(`watchdog: the scenario took longer than ${WATCHDOG_MS / 1000} s`)), WATCHDOG_MS).unref();

async function fail(error) {
  log('FAILED:', error.stack ?? String(error));
  const details = {};
  for (const { label, page } of pages) {
    details[label] = await pageState(page).catch((e) => ({ unavailable: String(e) }));
  }
  await screenshots().catch(() => {});
  await browser?.close().catch(() => {});
  finish({ ok: false, error: String(error.message ?? error), pages: details });
}

async function pageState(page) {
  return page.evaluate(() => (window.peerRelayDemo
    ? { ...window.peerRelayDemo, registerButton: document.getElementById('register').textContent, relayAddress: document.getElementById('relay').value }
    : null));
}

async function screenshots() {
  for (const { label, page } of pages) {
    const path = join(opts.out, `${scenario}-${label}.png`);
    await page.screenshot({ path, fullPage: true, timeout: 5000 });
    log('screenshot', path);
  }
}

async function openDemo(label, query, { registered = true } = {}) {
  const page = await context.newPage();
  pages.push({ label, page });
  page.on('console', (msg) => log(`${label} console.${msg.type()}:`, msg.text()));
  page.on('pageerror', (error) => log(`${label} page error:`, error.message));
  const url = `${opts.base.replace(/\/$/, '')}/demo?${new URLSearchParams({ loopback: '1', name: label, ...query })}`;
  log(label, 'opens', url);
  const response = await page.goto(url, { timeout: STEP_TIMEOUT_MS });
  if (!response?.ok()) {
    throw new Error(`${url} answered ${response?.status()}`);
  }
  if (registered) {
    await waitFor(page, label, 'registration with the relay', () => window.peerRelayDemo?.registered === true);
  }
  return page;
}

// Waits for a condition in the page; on time-out says which step the page reached.
async function waitFor(page, label, what, predicate, arg) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: STEP_TIMEOUT_MS, polling: 50 });
  } catch (error) {
    const state = await pageState(page).catch(() => null);
    throw new Error(`${label}: no ${what} within ${STEP_TIMEOUT_MS / 1000} s; steps: ${JSON.stringify(state?.steps)}; errors: ${JSON.stringify(state?.errors)}`);
  }
  log(label, 'has', what);
}

async function chat(page, text) {
  await page.fill('#chat-input', text);
  await page.click('#send');
}

async function received(page, label, text) {
  await waitFor(page, label, `message ${JSON.stringify(text)}`, (t) => window.peerRelayDemo.received.includes(t), text);
}

async function twoPages() {
  const alice = await openDemo('alice', {});
  const aliceId = (await alice.textContent('#my-id')).trim();
  const bob = await openDemo('bob', { peer: aliceId });
  const bobId = (await bob.textContent('#my-id')).trim();
  await waitFor(bob, 'bob', 'open data channel', () => window.peerRelayDemo.channelOpen);
  await waitFor(alice, 'alice', 'open data channel', () => window.peerRelayDemo.channelOpen);
  const toBob = `hello bob, from alice ${Date.now()}`;
  const toAlice = `hello alice, from bob ${Date.now()}`;
  await chat(alice, toBob);
  await chat(bob, toAlice);
  await received(bob, 'bob', toBob);
  await received(alice, 'alice', toAlice);
  return {
    alice: { uuid: aliceId, ...(await pageState(alice)) },
    bob: { uuid: bobId, ...(await pageState(bob)) },
  };
}

async function withPython() {
  // --relay-address: the page signals through another relay (node) than the one that served it.
  const relay = opts['relay-address'] ? { relay: opts['relay-address'] } : {};
  let page;
  if (opts.role === 'offer') {
    page = await openDemo('chromium', { peer: opts.peer, ...(opts.uuid ? { uuid: opts.uuid } : {}), ...relay });
  } else if (opts.role === 'answer') {
    page = await openDemo('chromium', { uuid: opts.uuid, ...relay });
  } else {
    throw new Error('with-python needs --role offer --peer UUID or --role answer --uuid UUID');
  }
  await waitFor(page, 'chromium', 'open data channel', () => window.peerRelayDemo.channelOpen);
  const text = `hello aiortc, from chromium ${Date.now()}`;
  await chat(page, text);
  await received(page, 'chromium', 'hello from aiortc');
  await received(page, 'chromium', `echo: ${text}`);
  return { chromium: { sent: text, ...(await pageState(page)) } };
}

async function reconnect() {
  if (!opts.uuid) {
    throw new Error('reconnect needs --uuid UUID');
  }
  const page = await openDemo('chromium', { uuid: opts.uuid });
  process.stdout.write(`${JSON.stringify({ event: 'registered', count: 1 })}\n`);
  await waitFor(page, 'chromium', 'second registration after the relay restarted', () => window.peerRelayDemo.registrations >= 2);
  process.stdout.write(`${JSON.stringify({ event: 'registered', count: 2 })}\n`);
  await waitFor(page, 'chromium', 'final close', () => window.peerRelayDemo.disconnects.some((d) => d.final));
  await waitFor(page, 'chromium', 'closed state', () => window.peerRelayDemo.relayState === 'closed');
  return { chromium: await pageState(page) };
}

async function unreachable() {
  const page = await openDemo('chromium', { relay: opts['relay-address'] }, { registered: false });
  await waitFor(page, 'chromium', 'a failed connection attempt', () => window.peerRelayDemo.disconnects.length >= 1);
  await waitFor(page, 'chromium', 'the reconnecting state', () => window.peerRelayDemo.relayState === 'reconnecting');
  return { chromium: { status: await page.textContent('#status'), ...(await pageState(page)) } };
}

const scenarios = { 'two-pages': twoPages, 'with-python': withPython, reconnect, unreachable };

try {
  browser = await playwright.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_TIMEOUT_MS });
} catch (error) {
  finish({ ok: false, error: `cannot start Chromium at ${CHROMIUM} (Debian package chromium): ${error.message}` });
}
log('chromium', browser.version());
context = await browser.newContext({ viewport: { width: 1100, height: 900 }, permissions: ['camera', 'microphone'] });

try {
  const result = await scenarios[scenario]();
  await screenshots();
  await browser.close();
  finish({ ok: true, scenario, ...result });
} catch (error) {
  await fail(error);
}
