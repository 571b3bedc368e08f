// The dashboard as a person uses it: the real `touchstone` binary on a free port with an admin
// key, seeded through the API with a simulated checkout experiment; Debian's chromium, driven by
// playwright-core, signs in, reads the funnel and the forest plot (checked against the JSON
// results), edits a definition, and starts and stops an experiment through the page.
// Screenshots go to artifacts/ui/ (and, with UPDATE_README_SCREENSHOT=1, to docs/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const artifacts = join(root, 'artifacts', 'ui');
const ADMIN_KEY = 'ui-test-admin-key-0123456789abcdef';
const EXPERIMENT = 'free-shipping-threshold';
const DRAFT = 'pdp-gallery-video';

function touchstoneBinary() {
  if (process.env.TOUCHSTONE_BIN) return process.env.TOUCHSTONE_BIN;
  const target = resolve(root, process.env.CARGO_TARGET_DIR || 'target');
  for (const profile of ['debug', 'release']) {
    const candidate = join(target, profile, 'touchstone');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`no touchstone binary under ${target}: run cargo build -p touchstone-server --bin touchstone, or set TOUCHSTONE_BIN`);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

// A seeded generator (mulberry32): the same simulated shoppers on every run.
function seeded(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let server;
let serverLog = '';
let base;
let context;
let userDataDir;

async function api(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { json = text; }
  return { status: response.status, body: json, type: response.headers.get('content-type') };
}

async function waitForHealth() {
  for (let attempt = 0; attempt < 400; attempt++) {
    try {
      const response = await fetch(base + '/healthz');
      if (response.ok) return;
    } catch (_) { /* not yet listening */ }
    if (server.exitCode !== null) throw new Error('touchstone exited during start:\n' + serverLog);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('touchstone did not become healthy:\n' + serverLog);
}

function definition(key, touchpoint) {
  return {
    key,
    description: 'Free shipping from 35 € instead of 50 €',
    touchpoint,
    variants: [
      { key: 'control', weight: 1, payload: { threshold: 50 } },
      { key: 'threshold_35', weight: 1, payload: { threshold: 35 } },
    ],
    journey: ['add_to_cart', 'begin_checkout', 'purchase'],
    value_event: 'purchase',
  };
}

// 600 shoppers: the treatment converts better at every stage.
async function seed() {
  const defined = await api('PUT', `/v1/experiments/${EXPERIMENT}`, definition(EXPERIMENT, 'checkout.shipping'));
  assert.equal(defined.status, 201, JSON.stringify(defined.body));
  assert.equal((await api('POST', `/v1/experiments/${EXPERIMENT}/start`)).status, 200);
  const draft = await api('PUT', `/v1/experiments/${DRAFT}`, definition(DRAFT, 'pdp.gallery'));
  assert.equal(draft.status, 201);
  const random = seeded(20261123);
  const rates = {
    control: [0.40, 0.55, 0.50],
    threshold_35: [0.50, 0.62, 0.58],
  };
  const events = [];
  for (let unit = 0; unit < 600; unit++) {
    const unitId = `shopper-${unit}`;
    const reply = await api('POST', '/v1/assign', { unit_id: unitId, touchpoint: 'checkout.shipping' });
    assert.equal(reply.status, 200);
    const variant = reply.body.assignments[0].variant;
    const [cart, checkout, purchase] = rates[variant];
    if (random() >= cart) continue;
    events.push({ id: `${unitId}-cart`, unit_id: unitId, name: 'add_to_cart' });
    if (random() >= checkout) continue;
    events.push({ id: `${unitId}-checkout`, unit_id: unitId, name: 'begin_checkout' });
    if (random() >= purchase) continue;
    events.push({ id: `${unitId}-purchase`, unit_id: unitId, name: 'purchase', value: Math.round(20 + random() * 80) });
  }
  for (let start = 0; start < events.length; start += 200) {
    const reply = await api('POST', '/v1/events', { events: events.slice(start, start + 200) });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual(reply.body.errors, []);
  }
  // Today's daily snapshot, so the over-time charts have a day to draw.
  const snapshot = await api('POST', `/v1/experiments/${EXPERIMENT}/snapshot`);
  assert.equal(snapshot.status, 200, JSON.stringify(snapshot.body));
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(touchstoneBinary(), ['serve'], {
    env: {
      ...process.env,
      RUST_LOG: '',
      TOUCHSTONE__SERVER__BIND: `127.0.0.1:${port}`,
      TOUCHSTONE__SERVER__WORKERS: '2',
      TOUCHSTONE__AUTH__ADMIN_KEYS: ADMIN_KEY,
      TOUCHSTONE__AUTH__CLIENT_KEYS: 'ui-test-client-key-0123456789abcdef',
      TOUCHSTONE__EXPERIMENTS__DIR: join(tmpdir(), 'touchstone-ui-no-definitions'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr.on('data', (chunk) => { serverLog += chunk; });
  await waitForHealth();
  await seed();
  userDataDir = mkdtempSync(join(tmpdir(), 'touchstone-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  if (context) await context.close();
  if (server) server.kill('SIGTERM');
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

test('a page needs a sign-in with an admin key, and a wrong key is told so', async () => {
  const page = await context.newPage();
  await page.goto(base + '/ui');
  assert.equal(new URL(page.url()).pathname, '/ui/login');
  await page.fill('#key', 'not-a-key');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('.problem'), /not one of the configured admin keys/);
  await shot(page, 'login-refused');
  await page.fill('#key', ADMIN_KEY);
  await page.click('button[type=submit]');
  await page.waitForURL(base + '/ui');
  const cookies = await context.cookies(base);
  const session = cookies.find((c) => c.name === 'touchstone_session');
  assert.ok(session, 'a session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.notEqual(session.value, ADMIN_KEY, 'the cookie is not the key itself');
  await page.close();
});

test('the list shows each experiment with its status, units and headline result', async () => {
  const page = await context.newPage();
  await page.goto(base + '/ui');
  const results = (await api('GET', `/v1/experiments/${EXPERIMENT}/results`)).body;
  const units = results.variants.reduce((sum, v) => sum + v.units, 0);
  const row = page.locator(`tr[data-experiment="${EXPERIMENT}"]`);
  assert.equal(await row.locator('[data-status]').getAttribute('data-status'), 'running');
  assert.equal(Number(await row.locator('td[data-units]').getAttribute('data-units')), units);
  assert.equal(await row.locator('td[data-units]').textContent(), units.toLocaleString('en-US'));
  assert.match(await row.textContent(), /purchase:/);
  // Days running: one per daily snapshot (the seed took today's).
  await page.locator(`td[data-days-for="${EXPERIMENT}"]`, { hasText: '1 day' }).waitFor();
  const draft = page.locator(`tr[data-experiment="${DRAFT}"] [data-status]`);
  assert.equal(await draft.getAttribute('data-status'), 'draft');
  await shot(page, 'experiments');
  await page.close();
});

test('the funnel and the forest plot show the numbers of the JSON results', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/ui/experiments/${EXPERIMENT}`);
  const results = (await api('GET', `/v1/experiments/${EXPERIMENT}/results`)).body;
  assert.equal(results.variants.reduce((sum, v) => sum + v.units, 0), 600);

  for (const variant of results.variants) {
    const exposed = page.locator(`#funnel-table td[data-variant="${variant.key}"][data-stage="exposed"]`);
    assert.equal(Number(await exposed.getAttribute('data-reached')), variant.units);
  }
  for (const stage of results.stages) {
    for (const cell of stage.variants) {
      const td = page.locator(`#funnel-table td[data-variant="${cell.key}"][data-stage="${stage.stage}"]`);
      assert.equal(Number(await td.getAttribute('data-reached')), cell.reached, `${stage.stage} ${cell.key}`);
      assert.ok((await td.textContent()).startsWith(cell.reached.toLocaleString('en-US')));
      const index = results.variants.findIndex((v) => v.key === cell.key);
      const bar = page.locator(`#funnel-${index} .funnel-stage[data-stage="${stage.stage}"]`);
      assert.equal(Number(await bar.getAttribute('data-reached')), cell.reached);
      // The label under the bar: the count and the rate, as a person reads them.
      const percent = (cell.rate * 100).toFixed(cell.rate >= 0.1 ? 1 : 2);
      assert.match(await bar.textContent(), new RegExp(`${cell.reached.toLocaleString('en-US')} · ${percent}`));
    }
  }

  for (const [index, stage] of results.stages.entries()) {
    for (const cell of stage.variants.filter((v) => v.vs_control)) {
      const comparison = cell.vs_control;
      const row = page.locator(`.stage[data-stage="${stage.stage}"] tr[data-variant="${cell.key}"]`);
      assert.equal(Number(await row.getAttribute('data-estimate')), comparison.relative.estimate);
      assert.equal(Number(await row.getAttribute('data-ci-low')), comparison.relative.ci[0]);
      assert.equal(Number(await row.getAttribute('data-ci-high')), comparison.relative.ci[1]);
      const shown = (comparison.relative.estimate * 100).toFixed(Math.abs(comparison.relative.estimate) >= 0.1 ? 1 : 2);
      assert.ok((await row.locator('td.estimate').textContent()).replace('\u2212', '-').includes(shown));
      const mark = page.locator(`#forest-${index} .forest-row[data-variant="${cell.key}"]`);
      const verdict = await mark.getAttribute('data-verdict');
      const expected = !comparison.significant ? 'inconclusive' : comparison.relative.estimate > 0 ? 'better' : 'worse';
      assert.equal(verdict, expected, `${stage.stage}: significant=${comparison.significant}`);
      assert.equal(await mark.locator('line.ci').count(), 1);
      assert.equal(await mark.locator('line.always-valid').count(), 1);
    }
  }
  // The plain-language summary from the stats engine, sentence by sentence.
  const sentences = await page.locator('#summary ul.summary li').allTextContents();
  assert.deepEqual(sentences, results.summary);
  // Over time: drawn from the daily snapshots the page fetched.
  const daily = await api('GET', `/v1/experiments/${EXPERIMENT}/results/daily`);
  assert.equal(daily.status, 200);
  assert.equal(daily.body.days.length, 1);
  await page.locator('#over-time-chart svg#units-over-time').waitFor();
  const lastDay = daily.body.days[daily.body.days.length - 1];
  const labels = await page.locator('#units-over-time text.note').allTextContents();
  for (const variant of lastDay.variants) {
    assert.ok(labels.includes(`${variant.key} ${variant.units.toLocaleString('en-US')}`), JSON.stringify(labels));
  }
  assert.equal(await page.locator('#effect-over-time polyline.effect-line').count(), 1);
  await shot(page, 'experiment');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, 'experiment-phone');
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 390, `no sideways scrolling on a phone (page is ${scrollWidth}px wide)`);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(artifacts, 'readme.png'), clip: { x: 0, y: 0, width: 1280, height: 1500 }, fullPage: true });
  if (process.env.UPDATE_README_SCREENSHOT === '1') {
    copyFileSync(join(artifacts, 'readme.png'), join(root, 'docs', 'dashboard.png'));
  }
  await page.close();
});

test('an experiment without snapshots says so instead of drawing an empty chart', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/ui/experiments/${DRAFT}`);
  await page.locator('#over-time-chart', { hasText: 'No daily snapshots yet' }).waitFor();
  await page.close();
});

test('definition errors appear beside their field, and the API problem is shown', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/ui/experiments/${DRAFT}`);
  const textarea = page.locator('#definition-text');
  const spec = JSON.parse(await textarea.inputValue());
  spec.variants[1].weight = 0;
  spec.traffic = 2;
  const text = JSON.stringify(spec, null, 2);
  await textarea.fill(text);
  await page.click('#definition-form button[type=submit]');
  const items = page.locator('#definition-errors li');
  await items.first().waitFor();
  const fields = await items.evaluateAll((list) => list.map((li) => [li.dataset.field, Number(li.dataset.line)]));
  const lineOf = (needle, after = 0) => text.split('\n').findIndex((line, i) => i >= after && line.includes(needle)) + 1;
  const variantsLine = lineOf('"variants"');
  const expected = new Map([
    ['traffic', lineOf('"traffic"')],
    ['variants[1].weight', lineOf('"weight"', lineOf('"threshold_35"') - 1)],
  ]);
  assert.ok(variantsLine > 0);
  for (const [field, line] of expected) {
    const found = fields.find(([f]) => f === field);
    assert.ok(found, `an error for ${field} among ${JSON.stringify(fields)}`);
    assert.equal(found[1], line, `${field} is placed at its line`);
    assert.equal(await page.locator(`.gutter .mark[data-field="${field}"]`).count(), 1);
  }
  assert.match(await page.textContent('#definition-errors .problem'), /Invalid definition.*validation_failed, HTTP 422/);
  assert.equal(await textarea.getAttribute('aria-invalid'), 'true');
  await shot(page, 'definition-errors');
  await page.close();
});

test('an experiment is started and stopped through the page, with a confirmation to stop', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/ui/experiments/${DRAFT}`);
  await page.click('button[data-action=start]');
  await page.waitForSelector('.experiment[data-status=running]');
  assert.equal((await api('GET', `/v1/experiments/${DRAFT}`)).body.status, 'running');

  // Cancelling the confirmation changes nothing.
  await page.click('button[data-action=stop]');
  await page.locator('dialog#confirm[open]').waitFor();
  await shot(page, 'confirm-stop');
  await page.click('dialog#confirm button[value=cancel]');
  assert.equal((await api('GET', `/v1/experiments/${DRAFT}`)).body.status, 'running');

  await page.click('button[data-action=stop]');
  await page.locator('dialog#confirm[open]').waitFor();
  await page.click('#confirm-yes');
  await page.waitForSelector('.experiment[data-status=stopped]');
  assert.equal((await api('GET', `/v1/experiments/${DRAFT}`)).body.status, 'stopped');
  await page.close();
});

test('a change the API refuses for a running experiment shows its problem document', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/ui/experiments/${EXPERIMENT}`);
  const textarea = page.locator('#definition-text');
  const spec = JSON.parse(await textarea.inputValue());
  spec.variants[1].weight = 3; // reshuffles exposed units: 409, only a new phase may
  await textarea.fill(JSON.stringify(spec, null, 2));
  await page.click('#definition-form button[type=submit]');
  await page.locator('dialog#confirm[open]').waitFor();
  await page.click('#confirm-yes');
  const problem = page.locator('#definition-errors .problem');
  await problem.waitFor();
  assert.match(
    await problem.textContent(),
    /Conflict: the weights of a running experiment cannot change.*POST \/v1\/experiments\/.*\/phases — field variants\[1\]\.weight \(new_phase_required, HTTP 409\)/,
  );
  const stored = (await api('GET', `/v1/experiments/${EXPERIMENT}`)).body;
  assert.equal(stored.variants[1].weight, 1, 'nothing was saved');
  await shot(page, 'conflict');
  await page.close();
});

test('without a session the API the page uses answers a problem, not a page', async () => {
  const response = await fetch(`${base}/v1/experiments/${EXPERIMENT}/stop`, { method: 'POST' });
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  assert.equal((await response.json()).code, 'unauthorized');
  assert.equal((await api('GET', `/v1/experiments/${EXPERIMENT}`)).body.status, 'running');
});
