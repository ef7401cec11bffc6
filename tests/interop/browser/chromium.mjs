// Debian's Chromium as every browser test here launches it (playwright-core never downloads a browser).
export const CHROMIUM = '/usr/bin/chromium';
export const STEP_TIMEOUT_MS = 20000;
export const WATCHDOG_MS = 55000;

// Playwright's own --disable-features list (chromiumSwitches.ts of the pinned playwright-core): Chromium keeps only
// the last --disable-features flag, so ours must repeat it. WebRtcHideLocalIpsWithMdns makes host candidates real
// addresses instead of .local names, which loopback-only tests need.
const PLAYWRIGHT_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding', 'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect', 'TcpPortRandomizationWin', 'OptimizationHints', 'NetworkTimeServiceQuerying',
  'AimEnabled', 'PreconnectToSearch',
];
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Host candidates on 127.0.0.1: Chromium leaves loopback out of WebRTC unless told, and enumerates every
  // interface (not just the default route's) only for a page with camera/microphone permission (granted below;
  // no device is opened).
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  `--disable-features=${[...PLAYWRIGHT_DISABLED_FEATURES, 'WebRtcHideLocalIpsWithMdns'].join(',')}`,
];


/** Progress on stderr, with the time. */
export function log(...args) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${args.join(' ')}\n`);
}

/** The one JSON result line on stdout; exits 0 when it says ok. */
export function finish(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

/** playwright-core, or a failed result that says how to install it. */
export async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch (error) {
    return finish({ ok: false, error: `playwright-core is not installed (run scripts/install-test-deps.sh): ${error.message}` });
  }
}
