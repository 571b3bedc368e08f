// The browser client on the demo storefront, in Debian's chromium (playwright-core), against
// the real binary: events created with the network cut arrive after it returns; a tab closed
// right after `track` still delivers (beacon); the results count each event exactly once; a
// server slower than the timeout leaves the page on its default; OpenFeature's web SDK with
// its OFREP web provider and the TouchstoneExposureHook reports exposure on use. Also the
// client's size (minified + gzip) against its 8 KB budget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';
import { chromium } from 'playwright-core';
import { startTouchstone, call, root, CLIENT_KEY } from './server.mjs';

const GALLERY = {
  key: 'pdp-gallery',
  touchpoint: 'pdp.gallery',
  variants: [
    { key: 'carousel', weight: 0.5, payload: { layout: 'carousel', images_per_view: 1, zoom: false } },
    { key: 'grid_zoom', weight: 0.5, payload: { layout: 'grid', images_per_view: 4, zoom: true } },
  ],
  journey: ['view_item', 'add_to_cart', 'begin_checkout', 'purchase'],
  value_event: 'purchase',
  // Counts every add_to_cart event, not only a unit's first: a double-counted event shows.
  metrics: [{ key: 'carts', kind: 'count', event: 'add_to_cart' }],
};

// Only tablets take part: a desktop shopper is kept out (reason DISABLED, no value).
const BADGE = {
  key: 'pdp-badge',
  touchpoint: 'pdp.badge',
  targeting: [{ attribute: 'device', op: 'equals', value: 'tablet' }],
  variants: [
    { key: 'none', weight: 1, payload: { badge: 'none' } },
    { key: 'bestseller', weight: 1, payload: { badge: 'bestseller' } },
  ],
  journey: ['add_to_cart'],
};

let server;
let context;
let userDataDir;
/** add_to_cart clicks the tests made, per unit. */
const clicks = new Map();

before(async () => {
  server = await startTouchstone();
  assert.equal((await call(server.base, 'PUT', '/v1/experiments/pdp-gallery', GALLERY)).status, 201);
  assert.equal((await call(server.base, 'POST', '/v1/experiments/pdp-gallery/start')).status, 200);
  assert.equal((await call(server.base, 'PUT', '/v1/experiments/pdp-badge', BADGE)).status, 201);
  assert.equal((await call(server.base, 'POST', '/v1/experiments/pdp-badge/start')).status, 200);
  userDataDir = mkdtempSync(join(tmpdir(), 'touchstone-of-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});

after(async () => {
  if (context) await context.close();
  if (server) await server.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** Opens the product page for `unit` and waits until it settled (variant or default). */
async function productPage(unit, query = '') {
  const page = await context.newPage();
  await page.goto(`${server.base}/demo?unit=${encodeURIComponent(unit)}${query}`);
  await page.waitForSelector('body[data-assigned]');
  return page;
}

/** Items the page's client still holds unacknowledged. */
function pendingCount(page) {
  return page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('touchstone:q:')).length);
}

async function addToCart(page, unit) {
  await page.click('#add-to-cart');
  clicks.set(unit, (clicks.get(unit) || 0) + 1);
}

/** The experiment's counted add_to_cart events and exposed units. */
async function counted() {
  const results = await call(server.base, 'GET', '/v1/experiments/pdp-gallery/results');
  assert.equal(results.status, 200, JSON.stringify(results.body));
  const carts = results.body.metrics.find((m) => m.metric === 'carts');
  const events = carts.variants.reduce((sum, v) => sum + Math.round(v.mean * v.units), 0);
  const units = results.body.variants.reduce((sum, v) => sum + v.units, 0);
  return { events, units };
}

async function until(condition, what) {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting: ${what}`);
}

const expectedEvents = () => [...clicks.values()].reduce((a, b) => a + b, 0);

test('the client is a dependency-free module within 8 KB minified + gzip, served by the binary', async () => {
  const source = readFileSync(join(root, 'clients', 'browser', 'touchstone.js'), 'utf8');
  assert.doesNotMatch(source, /\beval\(|new Function|^\s*import /m, 'no eval, no imports');
  const { code } = await transform(source, { minify: true, format: 'esm' });
  const size = gzipSync(code, { level: 9 }).length;
  console.log(`# browser client: ${source.length} B source, ${code.length} B minified, ${size} B minified + gzip`);
  assert.ok(size <= 8192, `${size} B > 8 KB`);
  const served = await fetch(`${server.base}/sdk/touchstone.js`);
  assert.equal(served.status, 200);
  assert.match(served.headers.get('content-type'), /javascript/);
  assert.equal(await served.text(), source);
});

test('events created with the network cut arrive after it returns, each counted once', async () => {
  const unit = 'offline-shopper-1';
  const page = await productPage(unit);
  await until(async () => (await pendingCount(page)) === 0, 'the view_item and exposure are sent');
  await context.route(`${server.base}/**`, (route) => route.abort('internetdisconnected'));
  for (let i = 0; i < 3; i++) await addToCart(page, unit);
  // The client tried (and failed): the events wait in localStorage.
  await until(async () => (await page.evaluate(() => window.touchstone.backoffMs)) > 0, 'a failed attempt');
  assert.equal(await pendingCount(page), 3);
  await context.unrouteAll();
  await until(async () => (await pendingCount(page)) === 0, 'the queue drains after the network returns');
  await page.close();
  const { events } = await counted();
  console.log(`# offline: ${expectedEvents()} events made, ${events} counted`);
  assert.equal(events, expectedEvents());
});

test('a tab closed right after track still delivers, and the next page resends without double counting', async () => {
  const unit = 'closing-shopper-1';
  const page = await productPage(unit);
  await until(async () => (await pendingCount(page)) === 0, 'the view_item and exposure are sent');
  await addToCart(page, unit);
  // pagehide → sendBeacon, before the client's batch timer fires.
  await page.close({ runBeforeUnload: true });
  await until(async () => (await counted()).events === expectedEvents(), 'the beacon arrives');
  // The beacon got no acknowledgement the page could read: the next page resends the item,
  // and the server's de-duplication by id keeps the count.
  const next = await productPage(unit);
  await until(async () => (await pendingCount(next)) === 0, 'the next page drains the queue');
  await next.close();
  const { events, units } = await counted();
  console.log(`# tab close: ${expectedEvents()} events made, ${events} counted (lost ${Math.max(0, expectedEvents() - events)}, double ${Math.max(0, events - expectedEvents())})`);
  assert.equal(events, expectedEvents());
  assert.equal(units, 2, 'each shopper exposed once, however many pages they saw');
});

test('a server slower than the timeout leaves the page on its default, and the late answer is not applied', async () => {
  // A unit whose variant is the grid, so the default (carousel) is visibly not it.
  let unit;
  for (let i = 0; !unit; i++) {
    const flags = await call(server.base, 'POST', '/ofrep/v1/evaluate/flags', { context: { targetingKey: `slow-${i}`, touchpoint: 'pdp.gallery' } });
    if (flags.body.flags[0].variant === 'grid_zoom') unit = `slow-${i}`;
  }
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let answered;
  const answeredLate = new Promise((resolve) => { answered = resolve; });
  await context.route(`${server.base}/ofrep/**`, async (route) => {
    await held;
    const response = await route.fetch().catch(() => null);
    answered();
    if (response) await route.fulfill({ response }).catch(() => {});
  });
  const page = await context.newPage();
  await page.goto(`${server.base}/demo?unit=${unit}&timeout=300`);
  // Settles while the server's answer is still held back.
  await page.waitForSelector('body[data-assigned="default"]');
  assert.equal(await page.getAttribute('#gallery', 'data-layout'), 'carousel');
  release();
  await answeredLate;
  await page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  assert.equal(await page.getAttribute('#gallery', 'data-layout'), 'carousel', 'the late answer is not applied');
  await context.unrouteAll();
  await page.close();
});

test('OpenFeature web SDK + OFREP web provider + TouchstoneExposureHook on the demo page', async () => {
  const bundle = await build({
    stdin: {
      contents: "import { OpenFeature } from '@openfeature/web-sdk';\n" +
        "import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';\n" +
        'window.OpenFeatureBundle = { OpenFeature, OFREPWebProvider };\n',
      resolveDir: join(root, 'tests', 'openfeature'),
    },
    bundle: true,
    format: 'iife',
    write: false,
  });
  const unit = 'openfeature-web-shopper-✓';
  const page = await productPage('storefront-page-unit');
  await page.addScriptTag({ content: bundle.outputFiles[0].text });
  const details = await page.evaluate(async ({ unit, key }) => {
    const { OpenFeature, OFREPWebProvider } = window.OpenFeatureBundle;
    const { TouchstoneExposureHook } = await import('/sdk/touchstone.js');
    await OpenFeature.setContext({ targetingKey: unit, device: 'desktop' });
    await OpenFeature.setProviderAndWait(new OFREPWebProvider({
      baseUrl: location.origin,
      headers: [['Authorization', `Bearer ${key}`]],
      cacheMode: 'disabled',
    }));
    const client = OpenFeature.getClient();
    client.addHooks(new TouchstoneExposureHook(window.touchstone));
    const { value, variant, reason, flagMetadata } = client.getObjectDetails('pdp-gallery', { layout: 'default' });
    const outside = client.getObjectDetails('pdp-badge', { badge: 'none' });
    return { value, variant, reason, flagMetadata, outside: { value: outside.value, reason: outside.reason, errorCode: outside.errorCode } };
  }, { unit, key: CLIENT_KEY });
  // Targeting keeps a desktop shopper out of the badge test: the code default, reason DISABLED.
  assert.deepEqual(details.outside, { value: { badge: 'none' }, reason: 'DISABLED', errorCode: undefined });
  assert.equal(details.reason, 'SPLIT');
  assert.equal(details.flagMetadata.experiment, 'pdp-gallery');
  await until(async () => (await pendingCount(page)) === 0, 'the hook\'s exposure is sent');
  await page.close();
  const existing = await call(server.base, 'POST', '/v1/assign',
    { unit_id: unit, touchpoint: 'pdp.gallery', attributes: { device: 'desktop' }, enroll: false }, { key: CLIENT_KEY });
  assert.equal(existing.body.assignments.length, 1, 'the hook recorded the exposure');
  assert.equal(existing.body.assignments[0].variant, details.variant);
  assert.deepEqual(existing.body.assignments[0].payload, details.value);
});

test('the demo is off unless demo.enabled', async () => {
  const off = await startTouchstone({ demo: false });
  try {
    assert.equal((await fetch(`${off.base}/demo`)).status, 404);
    assert.equal((await fetch(`${off.base}/sdk/touchstone.js`)).status, 200);
  } finally {
    await off.stop();
  }
});
