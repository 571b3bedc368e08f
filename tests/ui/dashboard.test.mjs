// The dashboard as a person uses it: the real `touchstone` binary on a free port with an admin
// key (guardrails checked every second), seeded through the API with simulated checkout
// experiments; Debian's chromium, driven by playwright-core, signs in, reads the decision card
// in its three states, the funnel and the forest plot (checked against the JSON results),
// restarts a variant the guardrail stopped and sees it stopped again, creates an experiment
// through the form alone, and checks every page at 390 px and for console errors.
// Screenshots of each state go to artifacts/ui/ (and, with UPDATE_README_SCREENSHOT=1, to docs/).
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
const WINNER = 'one-page-checkout';
const FLAT = 'button-colour';
const HARMFUL = 'express-payment';

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

// `units` shoppers of `key` at `touchpoint`; `rates[variant]` is each stage's chance to go on.
// `rates` may instead be a function (variant, unit index) → whether the unit purchases.
// `attributes(unit index)`, when given, is sent with each shopper's assign.
async function shoppers(touchpoint, prefix, units, rates, seedNumber, stages, attributes) {
  const random = seeded(seedNumber);
  const events = [];
  for (let unit = 0; unit < units; unit++) {
    const unitId = `${prefix}-${unit}`;
    const request = { unit_id: unitId, touchpoint };
    if (attributes) request.attributes = attributes(unit);
    const reply = await api('POST', '/v1/assign', request);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const variant = reply.body.assignments[0].variant;
    for (const [index, stage] of stages.entries()) {
      if (typeof rates === 'function' ? !rates(variant, unit) : random() >= rates[variant][index]) break;
      events.push({ id: `${unitId}-${stage}`, unit_id: unitId, name: stage, value: stage === 'purchase' ? Math.round(20 + random() * 80) : undefined });
    }
  }
  for (let start = 0; start < events.length; start += 200) {
    const reply = await api('POST', '/v1/events', { events: events.slice(start, start + 200) });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual(reply.body.errors, []);
  }
}

function simple(key, touchpoint, extra) {
  return Object.assign({
    key, touchpoint,
    variants: [{ key: 'control', weight: 1 }, { key: 'treatment', weight: 1 }],
    journey: ['purchase'],
  }, extra || {});
}

async function waitFor(condition, what) {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('never happened: ' + what);
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
  // The decision card's states: a clear winner, no difference, and a harmful variant the
  // guardrail stops.
  for (const [key, touchpoint, extra] of [
    // Revenue per unit adjusted for what the shopper spent before (CUPED, decision 023).
    [WINNER, 'checkout.steps', { currency: 'EUR', value_event: 'purchase', covariates: { revenue_per_unit: { attribute: 'revenue_90d' } } }],
    [FLAT, 'pdp.button'],
    [HARMFUL, 'checkout.payment', { guardrail_stages: ['purchase'] }],
  ]) {
    assert.equal((await api('PUT', `/v1/experiments/${key}`, simple(key, touchpoint, extra))).status, 201);
    assert.equal((await api('POST', `/v1/experiments/${key}/start`)).status, 200);
  }
  await shoppers('checkout.steps', 'winner', 400, { control: [0.2], treatment: [0.6] }, 7, ['purchase'], (unit) => ({ revenue_90d: (unit * 37) % 200 }));
  // No difference by construction: every third shopper buys, whatever the variant.
  await shoppers('pdp.button', 'flat', 300, (_, unit) => unit % 3 === 0, 8, ['purchase']);
  await shoppers('checkout.payment', 'harm', 300, { control: [0.6], treatment: [0.1] }, 9, ['purchase']);
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
      TOUCHSTONE__GUARDRAILS__CHECK_INTERVAL_SECONDS: '1',
      TOUCHSTONE__GUARDRAILS__MIN_UNITS: '50',
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

// A page that records every console error and uncaught exception; `done` asserts none came.
async function open(path) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  // `expected`: messages the test provokes on purpose (a refused save logs its 422).
  page.done = async (expected = []) => {
    await page.close();
    const unexpected = errors.filter((text) => !expected.some((pattern) => pattern.test(text)));
    assert.deepEqual(unexpected, [], `console errors on ${path}`);
  };
  if (path) await page.goto(base + path);
  return page;
}

// At a phone's width: no sideways scrolling, every text box inside the viewport (or inside a
// scrolling region that is), no text cut by its box, and touch targets of at least 44 px.
async function checkPhone(page, name) {
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-phone`);
  const problems = await page.evaluate(() => {
    const found = [];
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width) found.push(`page is ${document.documentElement.scrollWidth}px wide`);
    const scrolls = (el) => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const style = getComputedStyle(p);
        if (/(auto|scroll)/.test(style.overflowX) && p.scrollWidth > p.clientWidth) return p;
      }
      return null;
    };
    const visible = (el) => {
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0 && !el.closest('dialog:not([open]), details:not([open]) > :not(summary)');
    };
    for (const el of document.querySelectorAll('main *, header *')) {
      if (!visible(el)) continue;
      const hasText = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!hasText && !['BUTTON', 'INPUT', 'SELECT', 'TEXTAREA', 'svg'].includes(el.tagName)) continue;
      const box = el.getBoundingClientRect();
      const region = scrolls(el);
      const frame = region ? region.getBoundingClientRect() : { left: 0, right: width };
      if (region && (frame.left < -1 || frame.right > width + 1)) found.push(`scroll region off-screen: ${region.className}`);
      if (!region && (box.left < -1 || box.right > width + 1)) found.push(`${el.tagName}.${el.className} "${(el.textContent || '').trim().slice(0, 40)}" spans ${Math.round(box.left)}–${Math.round(box.right)}`);
      const style = getComputedStyle(el);
      if (hasText && /(hidden|clip)/.test(style.overflowX) && el.scrollWidth > el.clientWidth + 1) found.push(`text cut: ${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 40)}"`);
    }
    for (const el of document.querySelectorAll('main button, main a.button, main select, main input, main summary, header button')) {
      if (!visible(el) || el.type === 'checkbox') continue;
      const box = el.getBoundingClientRect();
      if (box.height < 43.5) found.push(`small touch target ${el.tagName}#${el.id} "${(el.textContent || el.value || '').trim().slice(0, 30)}" ${Math.round(box.height)}px`);
    }
    return found;
  });
  assert.deepEqual(problems, [], `${name} at 390 px`);
  await page.setViewportSize({ width: 1280, height: 900 });
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
  // The decision in short, the same as each experiment's card.
  assert.equal(await page.locator(`tr[data-experiment="${WINNER}"] .short-decision`).getAttribute('data-decision'), 'ship');
  assert.equal(await page.locator(`tr[data-experiment="${FLAT}"] .short-decision`).getAttribute('data-decision'), 'keep-running');
  await shot(page, 'experiments');
  await page.close();
});

test('the funnel and the forest plot show the numbers of the JSON results', async () => {
  const page = await open(`/ui/experiments/${EXPERIMENT}`);
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
  // The snapshot plus now: units as they stand, one effect chart per stage, each from day 0.
  await page.locator('#over-time-chart svg#units-over-time').waitFor();
  const labels = await page.locator('#units-over-time text.note').allTextContents();
  for (const variant of results.variants) {
    assert.ok(labels.includes(`${variant.key} ${variant.units.toLocaleString('en-US')}`), JSON.stringify(labels));
  }
  assert.equal(await page.locator('#over-time-chart svg[id^=effect-over-time-]').count(), results.stages.length + results.metrics.length);
  assert.equal(await page.locator('#effect-over-time-0 polyline.effect-line').count(), 1);
  const ticks = await page.locator('#units-over-time text.tick').allTextContents();
  assert.ok(ticks.includes('now') && ticks.some((t) => /\d{1,2} [A-Z][a-z]{2} 20\d\d/.test(t)), JSON.stringify(ticks));
  await shot(page, 'experiment');
  await checkPhone(page, 'experiment');
  await page.screenshot({ path: join(artifacts, 'readme.png'), clip: { x: 0, y: 0, width: 1280, height: 1500 }, fullPage: true });
  if (process.env.UPDATE_README_SCREENSHOT === '1') {
    copyFileSync(join(artifacts, 'readme.png'), join(root, 'docs', 'dashboard.png'));
  }
  await page.done();
});

test('a draft without data says what to do next and warns about nothing', async () => {
  const page = await open(`/ui/experiments/${DRAFT}`);
  assert.match(await page.textContent('#empty-state'), /POST \/v1\/assign.*POST \/v1\/events/s);
  assert.equal(await page.locator('.warnings li').count(), 0);
  assert.equal(await page.locator('#over-time, #funnels').count(), 0);
  assert.equal(await page.getAttribute('#decision-card', 'data-decision'), 'keep-running');
  assert.match(await page.textContent('#decision-card .sentence'), /^Not started/);
  await shot(page, 'draft');
  await page.done();
});

test('definition errors appear beside their field, and the API problem is shown', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/ui/experiments/${DRAFT}`);
  await page.click('#definition summary');
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

test('an experiment is started and stopped through the page, each with a confirmation', async () => {
  const page = await context.newPage();
  await page.goto(`${base}/ui/experiments/${DRAFT}`);
  await page.click('button[data-action=start]');
  await page.locator('dialog#confirm[open]').waitFor();
  assert.match(await page.textContent('#confirm-text'), /assigns units at its touchpoint/);
  await page.click('#confirm-yes');
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
  await page.click('#definition summary');
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

test('the decision card says ship, keep running or stop, with the interval that decided', async () => {
  for (const [key, advice, sentence] of [
    [WINNER, 'ship', /^Ship treatment: it converts to purchase better than control\.$/],
    [FLAT, 'keep-running', /^Keep running/],
  ]) {
    const page = await open(`/ui/experiments/${key}`);
    const card = page.locator('#decision-card');
    assert.equal(await card.getAttribute('data-decision'), advice, key);
    assert.match(await card.locator('.sentence').textContent(), sentence);
    assert.match(await card.locator('[data-verdict-interval]').textContent(), /95\s?% (always-valid|confidence) interval/);
    assert.match(await card.textContent(), /Sample: [\d,]+ of [\d,]+ planned units per variant/);
    // The card comes before any other number, and the chance never claims certainty.
    assert.ok(await page.evaluate(() => document.querySelector('#decision-card').compareDocumentPosition(document.querySelector('#funnels')) & Node.DOCUMENT_POSITION_FOLLOWING));
    for (const text of await page.locator('#decision td.with-bar span').allTextContents()) assert.doesNotMatch(text, /100\.0/);
    await shot(page, `decision-${advice}`);
    await page.done();
  }
  // Revenue in the experiment's currency.
  const page = await open(`/ui/experiments/${WINNER}`);
  assert.match(await page.locator('#metrics tr[data-metric=revenue_per_unit][data-variant=treatment] td[data-mean]').textContent(), /^\d+\.\d\d\sEUR$/);
  // The metric declares a covariate: a note says so, in the results' own words.
  assert.match(await page.locator('#metrics .cuped-note[data-metric=revenue_per_unit]').textContent(), /^CUPED on revenue_90d/);
  await page.done();
});

test('the guardrail stop is loud; a restart asks why, starts a new phase, and the guardrail stops it again', async () => {
  await waitFor(async () => (await api('GET', `/v1/experiments/${HARMFUL}`)).body.status === 'stopped', 'the guardrail stopping ' + HARMFUL);
  const page = await open(`/ui/experiments/${HARMFUL}`);
  const banner = page.locator('#guardrail-banner');
  assert.match(await banner.textContent(), /Stopped by the guardrail.*\d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d UTC/s);
  assert.match(await banner.locator('li[data-variant=treatment][data-metric=purchase]').textContent(), /converts to purchase −[\d.]+\s?pp against control \(always-valid interval −[\d.]+\s?pp to −[\d.]+\s?pp\)/);
  assert.equal(await page.getAttribute('#decision-card', 'data-decision'), 'stop');
  await shot(page, 'guardrail-stopped');
  await checkPhone(page, 'guardrail-stopped');
  // The restart asks for a reason before it does anything.
  await page.click('#guardrail-banner button[data-action=restart]');
  await page.locator('dialog#act[open]').waitFor();
  assert.match(await page.textContent('#act-text'), /new phase \(phase 2\).*guardrail watches it again at once/);
  await page.click('#act-yes');
  assert.equal(await page.isVisible('#act-reason-error'), true, 'a reason is required');
  assert.equal((await api('GET', `/v1/experiments/${HARMFUL}`)).body.status, 'stopped');
  await shot(page, 'restart-confirm');
  await page.fill('#act-reason', 'payment fix deployed');
  await page.click('#act-yes');
  await page.waitForSelector('.experiment[data-status=running][data-current-phase="2"]');
  const audit = (await api('GET', `/v1/audit?experiment=${HARMFUL}`)).body.entries;
  assert.equal(audit[0].action, 'start');
  assert.equal(audit[0].changes.reason, 'payment fix deployed');
  assert.deepEqual(audit[0].changes.phase, { from: 1, to: 2 });
  await page.done();
  // Still harmful in phase 2: the re-armed guardrail stops it again.
  await shoppers('checkout.payment', 'harm-again', 300, { control: [0.6], treatment: [0.1] }, 10, ['purchase']);
  await waitFor(async () => (await api('GET', `/v1/experiments/${HARMFUL}`)).body.status === 'stopped', 'the re-armed guardrail');
  const stops = (await api('GET', `/v1/audit?experiment=${HARMFUL}`)).body.entries.filter((e) => e.key_id === 'guardrail');
  assert.equal(stops.length, 2);
  const again = await open(`/ui/experiments/${HARMFUL}`);
  await again.locator('#guardrail-banner').waitFor();
  await shot(again, 'guardrail-stopped-again');
  await again.done();
});

test('an experiment is created through the form alone and shows its first results', async () => {
  const page = await open('/ui');
  await page.click('a[href="/ui/experiments/new"]');
  await page.waitForURL(base + '/ui/experiments/new');
  await page.fill('#f-key', 'search-suggestions');
  await page.fill('#f-description', 'Suggest products while typing');
  await page.fill('#f-touchpoint', 'search.box');
  await page.fill('#stages input', 'add_to_cart');
  await page.click('button[data-add=stage]');
  await page.locator('#stages input').nth(1).fill('purchase');
  await page.locator('#variants textarea').nth(1).fill('{"suggest": true}');
  await page.selectOption('#metric-template', 'revenue');
  await page.click('button[data-add=metric]');
  await page.fill('#f-currency', 'euro');
  await page.fill('#preview-baseline', '10');
  await page.locator('#sample-preview', { hasText: 'units per variant' }).waitFor();
  await checkPhone(page, 'form');
  // A mistake is explained beside its field, in words.
  await page.click('#experiment-form button[type=submit]');
  const currencyError = page.locator('[data-error-for="currency"]');
  await currencyError.waitFor();
  assert.match(await currencyError.textContent(), /not a currency code: three capital letters/);
  assert.equal(await page.getAttribute('#f-currency', 'aria-invalid'), 'true');
  await shot(page, 'form-error');
  await page.fill('#f-currency', 'EUR');
  await page.click('#experiment-form button[type=submit]');
  await page.waitForURL(base + '/ui/experiments/search-suggestions');
  const stored = (await api('GET', '/v1/experiments/search-suggestions')).body;
  assert.deepEqual(stored.journey, ['add_to_cart', 'purchase']);
  assert.deepEqual(stored.variants[1].payload, { suggest: true });
  assert.equal(stored.metrics[0].kind, 'sum');
  assert.equal(stored.currency, 'EUR');
  await page.click('button[data-action=start]');
  await page.click('#confirm-yes');
  await page.waitForSelector('.experiment[data-status=running]');
  await page.done([/status of 422/]);
  await shoppers('search.box', 'searcher', 200, { control: [0.5, 0.4], treatment: [0.6, 0.5] }, 11, ['add_to_cart', 'purchase']);
  const results = await open('/ui/experiments/search-suggestions');
  const exposed = results.locator('#funnel-table td[data-stage=exposed]');
  const units = (await exposed.evaluateAll((cells) => cells.map((c) => Number(c.dataset.reached)))).reduce((a, b) => a + b, 0);
  assert.equal(units, 200);
  await results.locator('#over-time-chart svg#units-over-time').waitFor();
  await shot(results, 'created-first-results');
  await results.done();
});

test('every page fits a phone and is free of console errors', async () => {
  for (const [path, name] of [['/ui', 'list'], [`/ui/experiments/${WINNER}`, 'winner'], [`/ui/experiments/${WINNER}/edit`, 'edit'], ['/docs', 'api-docs']]) {
    const page = await open(path);
    await page.waitForLoadState('networkidle');
    if (name !== 'api-docs') await checkPhone(page, name);
    await page.done();
  }
  // Share links keep the phase, the segment and the view; the exports are the results shown.
  const page = await open(`/ui/experiments/${HARMFUL}?phase=1&view=effects`);
  assert.equal(await page.locator('#phase-select').inputValue(), '1');
  await page.click('#share-link');
  const link = new URL(await page.getAttribute('#share-note', 'data-link'));
  assert.equal(link.searchParams.get('phase'), '1');
  assert.ok(link.searchParams.get('view'));
  assert.equal(await page.getAttribute('#export-csv', 'href'), `/ui/experiments/${HARMFUL}/results.csv?phase=1`);
  await page.done();
  const csv = await fetch(`${base}/ui/experiments/${HARMFUL}/results.csv?phase=1`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(csv.status, 200);
  const rows = (await csv.text()).trim().split('\n');
  assert.match(rows[0], /^kind,name,variant,units/);
  assert.ok(rows.some((row) => row.startsWith('stage,purchase,treatment,')), rows.join('\n'));
  const favicon = await fetch(`${base}/favicon.ico`);
  assert.equal(favicon.status, 200);
  assert.equal(favicon.headers.get('content-type'), 'image/svg+xml');
});

test('without a session the API the page uses answers a problem, not a page', async () => {
  const response = await fetch(`${base}/v1/experiments/${EXPERIMENT}/stop`, { method: 'POST' });
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('content-type'), 'application/problem+json');
  assert.equal((await response.json()).code, 'unauthorized');
  assert.equal((await api('GET', `/v1/experiments/${EXPERIMENT}`)).body.status, 'running');
});
