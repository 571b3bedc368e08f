// The real `touchstone` binary on a free port for the OpenFeature and browser-client tests,
// with an admin key, a client key and the demo storefront on; plus a small API helper.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
export const ADMIN_KEY = 'of-test-admin-key-0123456789abcdef';
export const CLIENT_KEY = 'of-test-client-key-0123456789abcdef';

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

/** Starts touchstone; resolves to {base, stop, log()}. `definitions` loads the repo's examples;
 * `demo` serves the storefront. */
export async function startTouchstone({ definitions = false, demo = true } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(touchstoneBinary(), ['serve'], {
    cwd: root,
    env: {
      ...process.env,
      RUST_LOG: '',
      TOUCHSTONE__SERVER__BIND: `127.0.0.1:${port}`,
      TOUCHSTONE__SERVER__WORKERS: '2',
      TOUCHSTONE__AUTH__ADMIN_KEYS: ADMIN_KEY,
      TOUCHSTONE__AUTH__CLIENT_KEYS: CLIENT_KEY,
      TOUCHSTONE__DEMO__ENABLED: String(demo),
      TOUCHSTONE__DEMO__CLIENT_KEY: CLIENT_KEY,
      TOUCHSTONE__PLUGINS__DIR: mkdtempSync(join(tmpdir(), 'touchstone-of-plugins-')),
      TOUCHSTONE__PLUGINS__CACHE_DIR: '',
      TOUCHSTONE__EXPERIMENTS__DIR: definitions
        ? join(root, 'config', 'experiments')
        : join(tmpdir(), 'touchstone-of-no-definitions'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (chunk) => { log += chunk; });
  for (let attempt = 0; attempt < 400; attempt++) {
    try {
      if ((await fetch(base + '/healthz')).ok) {
        return {
          base,
          log: () => log,
          stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }),
        };
      }
    } catch (_) { /* not yet listening */ }
    if (child.exitCode !== null) throw new Error('touchstone exited during start:\n' + log);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('touchstone did not become healthy:\n' + log);
}

/** One API call with a key; JSON in, {status, body, headers} out. */
export async function call(base, method, path, body, { key = ADMIN_KEY, headers = {} } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { json = text; }
  return { status: response.status, body: json, headers: response.headers };
}

/** Runs `work` over `items` with at most `width` in flight; results in input order. */
export async function pool(items, width, work) {
  const results = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: width }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  });
  await Promise.all(lanes);
  return results;
}
