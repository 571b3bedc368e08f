// Touchstone browser client: a dependency-free ES module a shop includes with one
// <script type="module">. Variants come from the server's OFREP bulk evaluation (which records
// nothing); exposures are reported when the page shows a variant (`exposed`), events with
// `track`. Both wait in localStorage, one key per item, until the server acknowledged them,
// so a closed tab or a lost network loses nothing: a beacon carries them as the page hides,
// and the next page resends whatever was not acknowledged (the server de-duplicates by id).
// No eval, no third-party requests, no cookies when the shop passes its own unit id.

const PREFIX = 'touchstone:q:';
const YEAR_SECONDS = 31536000;
const BEACON_BYTES = 60000;

/** @returns {string} 128 random bits, hex. */
function randomId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} name @returns {string | undefined} */
function readCookie(name) {
  for (const pair of document.cookie.split(';')) {
    const [key, ...rest] = pair.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** Attributes the server accepts: flat strings, numbers and booleans. */
function flat(attributes) {
  /** @type {Record<string, string | number | boolean>} */
  const out = {};
  for (const [key, value] of Object.entries(attributes || {})) {
    if (['string', 'number', 'boolean'].includes(typeof value)) out[key] = value;
  }
  return out;
}

/**
 * @typedef {object} Options
 * @property {string} url - the Touchstone server, e.g. "https://ab.shop.example"
 * @property {string} [clientKey] - a client key (public: it ships in the page)
 * @property {string} [unitId] - the shop's own customer id; otherwise a first-party cookie
 * @property {string} [cookieName] - default "touchstone_uid"
 * @property {number} [timeoutMs] - after this, assign resolves to no assignment (default 800)
 * @property {number} [batchSize] - events per request (default 100)
 * @property {number} [flushDelayMs] - wait before a batch goes out (default 500)
 *
 * @typedef {object} Assignment
 * @property {string} experiment
 * @property {string} variant
 * @property {unknown} payload
 * @property {boolean} shipped
 *
 * @typedef {object} Assignments
 * @property {Assignment[]} assignments - empty: render the default
 * @property {boolean} answered - false after a timeout or a failure
 */

export class TouchstoneClient {
  /** @param {Options} options */
  constructor(options) {
    this.url = options.url.replace(/\/$/, '');
    this.clientKey = options.clientKey || '';
    this.timeoutMs = options.timeoutMs ?? 800;
    this.batchSize = options.batchSize ?? 100;
    this.flushDelayMs = options.flushDelayMs ?? 500;
    this.unitId = options.unitId || this.cookieUnit(options.cookieName || 'touchstone_uid');
    /** @type {Map<string, Promise<Assignments>>} */
    this.cache = new Map();
    /** @type {Map<string, Record<string, string | number | boolean>>} */
    this.attributesOf = new Map();
    this.sending = false;
    this.backoffMs = 0;
    this.timer = 0;
    addEventListener('pagehide', () => this.beacon());
    addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') this.beacon();
    });
    addEventListener('online', () => this.flush());
    // What earlier pages left unacknowledged.
    this.schedule(0);
  }

  /** @param {string} name @returns {string} */
  cookieUnit(name) {
    let id = readCookie(name);
    if (!id) {
      id = randomId();
      const secure = location.protocol === 'https:' ? '; Secure' : '';
      document.cookie = `${name}=${id}; Path=/; Max-Age=${YEAR_SECONDS}; SameSite=Lax${secure}`;
    }
    return id;
  }

  /** @returns {Record<string, string>} */
  headers() {
    /** @type {Record<string, string>} */
    const headers = { 'Content-Type': 'application/json' };
    if (this.clientKey) headers.Authorization = `Bearer ${this.clientKey}`;
    return headers;
  }

  /**
   * The unit's variants at a touchpoint, cached for the page. Resolves within `timeoutMs`
   * even when the server is slow or down (then with no assignment, so the shop renders its
   * default); a late answer is not applied. Records no exposure: call `exposed` on render.
   * @param {string} touchpoint
   * @param {Record<string, unknown>} [attributes]
   * @returns {Promise<Assignments>}
   */
  assign(touchpoint, attributes) {
    const context = { ...flat(attributes), targetingKey: this.unitId, touchpoint };
    const cacheKey = JSON.stringify(context);
    let answer = this.cache.get(cacheKey);
    if (!answer) {
      answer = this.evaluate(context);
      this.cache.set(cacheKey, answer);
    }
    return answer;
  }

  /** @returns {Promise<Assignments>} */
  async evaluate(context) {
    const none = { assignments: [], answered: false };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      const response = await fetch(`${this.url}/ofrep/v1/evaluate/flags`, {
        method: 'POST',
        headers: this.headers(),
        body: JSON.stringify({ context }),
        signal: abort.signal,
      });
      if (!response.ok) return none;
      const body = await response.json();
      const { targetingKey, touchpoint, ...attributes } = context;
      const assignments = [];
      for (const flag of body.flags || []) {
        if (!('value' in flag)) continue;
        this.attributesOf.set(flag.key, attributes);
        assignments.push({
          experiment: flag.key,
          variant: flag.variant,
          payload: flag.value,
          shipped: flag.reason === 'STATIC',
        });
      }
      return { assignments, answered: true };
    } catch (_) {
      return none;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reports that the page showed the unit `variant` of `experiment` (exposure on use). The
   * server decides the variant itself again and counts the unit once.
   * @param {string} experiment
   * @param {string} variant
   * @param {Record<string, unknown>} [attributes] - default: those of the assign call
   * @param {string} [unitId] - default: this client's unit
   */
  exposed(experiment, variant, attributes, unitId) {
    this.enqueue('x', {
      unit_id: unitId || this.unitId,
      experiment,
      variant,
      attributes: attributes ? flat(attributes) : this.attributesOf.get(experiment) || {},
    });
  }

  /**
   * Records an outcome event (a journey stage or a metric's event).
   * @param {string} name
   * @param {{value?: number, attributes?: Record<string, unknown>}} [details]
   */
  track(name, details = {}) {
    /** @type {Record<string, unknown>} */
    const event = { unit_id: this.unitId, name };
    if (details.value !== undefined) event.value = details.value;
    if (details.attributes) event.attributes = details.attributes;
    this.enqueue('e', event);
  }

  /** @param {'e' | 'x'} kind @param {Record<string, unknown>} body */
  enqueue(kind, body) {
    const id = randomId();
    const item = { kind, body: { id, ...body, timestamp: Date.now() } };
    try {
      localStorage.setItem(PREFIX + id, JSON.stringify(item));
    } catch (_) {
      // Storage full or blocked: the item still goes out with the next batch of this page.
      this.memory = [...(this.memory || []), item];
    }
    this.schedule(this.flushDelayMs);
  }

  /** Every item not yet acknowledged, oldest first. */
  pending() {
    const items = [...(this.memory || [])];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(PREFIX)) continue;
      try {
        items.push(JSON.parse(localStorage.getItem(key) || ''));
      } catch (_) {
        localStorage.removeItem(key);
      }
    }
    return items.sort((a, b) => a.body.timestamp - b.body.timestamp);
  }

  /** @param {{kind: string, body: {id: string}}[]} items */
  payload(items) {
    return JSON.stringify({
      client_key: this.clientKey || undefined,
      events: items.filter((item) => item.kind === 'e').map((item) => item.body),
      exposures: items.filter((item) => item.kind === 'x').map((item) => item.body),
    });
  }

  /** @param {{body: {id: string}}[]} items */
  forget(items) {
    const ids = new Set(items.map((item) => item.body.id));
    this.memory = (this.memory || []).filter((item) => !ids.has(item.body.id));
    for (const id of ids) localStorage.removeItem(PREFIX + id);
  }

  /** @param {number} delayMs */
  schedule(delayMs) {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.flush();
    }, delayMs);
  }

  /**
   * Sends what is pending, one batch after another; a batch that fails (offline, 5xx, 429)
   * stays queued and is retried with backoff. Resolves when the queue is empty or a batch
   * failed.
   */
  async flush() {
    if (this.sending) return;
    this.sending = true;
    try {
      for (;;) {
        const batch = this.pending().slice(0, this.batchSize);
        if (batch.length === 0) {
          this.backoffMs = 0;
          return;
        }
        const delivered = await this.send(batch);
        if (!delivered) {
          this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 1000), 60000);
          this.schedule(this.backoffMs);
          return;
        }
        this.backoffMs = 0;
      }
    } finally {
      this.sending = false;
    }
  }

  /** @returns {Promise<boolean>} whether the server answered for the batch */
  async send(batch) {
    let response;
    try {
      // text/plain keeps a cross-origin call "simple" (no preflight), like the beacon.
      response = await fetch(`${this.url}/v1/events/beacon`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain' },
        body: this.payload(batch),
        keepalive: true,
      });
    } catch (_) {
      return false;
    }
    if (response.status === 429 || response.status >= 500) return false;
    // Acknowledged — or refused for good (a 4xx, or per-item errors): resending cannot help.
    if (!response.ok) console.warn('touchstone: batch refused', response.status);
    this.forget(batch);
    return true;
  }

  /** As the page hides: hand what is pending to the browser, which sends it even after the
   * tab closed. The items stay queued until a later answer acknowledges them. */
  beacon() {
    const batch = [];
    let bytes = 0;
    for (const item of this.pending()) {
      bytes += JSON.stringify(item.body).length;
      if (bytes > BEACON_BYTES) break;
      batch.push(item);
    }
    if (batch.length === 0) return;
    const body = new Blob([this.payload(batch)], { type: 'text/plain' });
    const url = `${this.url}/v1/events/beacon`;
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, body))) {
      fetch(url, { method: 'POST', body, keepalive: true }).catch(() => {});
    }
  }
}

/**
 * An OpenFeature hook for the OFREP web provider: after a flag evaluation that randomized the
 * unit (reason SPLIT), reports the exposure — exposure on use for OpenFeature users.
 */
export class TouchstoneExposureHook {
  /** @param {TouchstoneClient} client */
  constructor(client) {
    this.client = client;
  }

  after(hookContext, details) {
    if (details.reason !== 'SPLIT' || !details.variant) return;
    const { targetingKey, ...attributes } = hookContext.context || {};
    this.client.exposed(details.flagKey, details.variant, attributes, targetingKey);
  }
}

export const Touchstone = {
  /** @type {TouchstoneClient | undefined} */
  client: undefined,
  /** @param {Options} options @returns {TouchstoneClient} */
  init(options) {
    this.client = new TouchstoneClient(options);
    return this.client;
  },
};

export default Touchstone;
