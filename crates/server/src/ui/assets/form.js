// Touchstone experiment form: fills the repeated rows (stages, variants, targeting, metrics)
// from the definition in data-spec, builds the definition from the fields, sends it with
// PUT /v1/experiments/{key} (same-origin, JSON), and places every error the API returns beside
// the field its path names. Plain JavaScript, no build step.
(function () {
  'use strict';
  const form = document.getElementById('experiment-form');
  if (!form) return;
  const spec = JSON.parse(form.dataset.spec || '{}');
  const running = form.dataset.running === 'true';
  const editing = form.dataset.mode === 'edit';

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      return { ok: false, status: 0, body: { title: 'Network error', detail: String(error) } };
    }
    let parsed = null;
    try { parsed = await response.json(); } catch (_) { parsed = null; }
    return { ok: response.ok, status: response.status, body: parsed };
  }

  // Metric templates: what a product manager picks; the event names are the usual ones.
  const TEMPLATES = {
    conversion: { key: 'purchase_rate', kind: 'conversion', event: 'purchase', direction: 'increase' },
    revenue: { key: 'revenue_per_visitor', kind: 'sum', event: 'purchase', direction: 'increase' },
    retention: { key: 'retention', kind: 'conversion', event: 'visit', direction: 'increase', window_start_hours: 24 },
    clv: { key: 'lifetime_value', kind: 'sum', event: 'purchase', direction: 'increase', window_end_hours: 2160 },
    nps: { key: 'nps', kind: 'nps', event: 'nps_answer', direction: 'increase' },
    effort: { key: 'customer_effort', kind: 'mean', event: 'effort_answer', direction: 'decrease' },
    tickets: { key: 'support_tickets', kind: 'count', event: 'support_ticket', direction: 'decrease' },
    time: { key: 'time_to_purchase', kind: 'duration', event: 'purchase', direction: 'decrease' },
  };
  const KINDS = ['conversion', 'sum', 'count', 'nps', 'mean', 'duration'];
  const KIND_WORDS = { conversion: 'conversion', sum: 'total value', count: 'count', nps: 'NPS', mean: 'mean value', duration: 'time to event' };
  const OPS = ['equals', 'not_equals', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte'];
  const OP_WORDS = { equals: 'is', not_equals: 'is not', in: 'is one of', not_in: 'is none of', gt: '>', gte: '≥', lt: '<', lte: '≤' };

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(function ([name, value]) {
      if (value === undefined || value === null || value === false) return;
      if (name === 'text') node.textContent = value; else node.setAttribute(name, value === true ? '' : value);
    });
    (children || []).forEach(function (child) { node.append(child); });
    return node;
  }

  let uid = 0;
  // One labelled input of a row; `sub` names its part of the field path.
  function part(sub, label, control) {
    const id = 'r' + (++uid);
    control.id = id;
    control.dataset.sub = sub;
    const error = el('p', { class: 'field-error', role: 'alert', hidden: true });
    error.dataset.errorSub = sub;
    return el('div', { class: 'field' }, [el('label', { for: id, text: label }), control, error]);
  }

  function select(options, words, value) {
    const node = el('select');
    options.forEach(function (option) {
      node.append(el('option', { value: option, text: words ? words[option] : option, selected: option === value }));
    });
    return node;
  }

  function removeButton(list, what) {
    const button = el('button', { type: 'button', class: 'secondary remove', text: 'Remove', 'aria-label': 'Remove this ' + what });
    button.addEventListener('click', function () { button.closest('li').remove(); renumber(list); syncGuardrails(); });
    return button;
  }

  // Field paths follow the row order: variants[0].weight, journey[2], …
  function renumber(list) {
    const base = list.dataset.path;
    Array.from(list.children).forEach(function (row, index) {
      const pathOf = function (sub) { return base + '[' + index + ']' + (sub ? '.' + sub : ''); };
      row.querySelectorAll('[data-sub]').forEach(function (node) { node.dataset.path = pathOf(node.dataset.sub); });
      row.querySelectorAll('[data-error-sub]').forEach(function (node) { node.dataset.errorFor = pathOf(node.dataset.errorSub); });
    });
  }

  const stages = document.getElementById('stages');
  const variants = document.getElementById('variants');
  const targeting = document.getElementById('targeting');
  const metrics = document.getElementById('metrics');
  const guardrailBox = document.getElementById('guardrail-stages');

  function addStage(name) {
    const input = el('input', { type: 'text', list: 'known-events', value: name || '', placeholder: 'purchase', autocomplete: 'off' });
    input.addEventListener('input', syncGuardrails);
    const row = el('li', { class: 'row' }, [part('', 'Stage event', input), removeButton(stages, 'stage')]);
    stages.append(row);
    renumber(stages);
    syncGuardrails();
  }

  function addVariant(variant) {
    const v = variant || {};
    const key = el('input', { type: 'text', value: v.key || '', placeholder: 'treatment', autocomplete: 'off', readonly: running });
    const weight = el('input', { type: 'number', min: '0', step: 'any', inputmode: 'decimal', value: v.weight === undefined ? 1 : v.weight, readonly: running });
    const payload = el('textarea', { rows: '2', spellcheck: 'false', placeholder: '{"threshold": 35}' });
    payload.value = v.payload === undefined || v.payload === null ? '' : JSON.stringify(v.payload);
    const children = [part('key', 'Variant', key), part('weight', 'Weight', weight), part('payload', 'Payload (JSON)', payload)];
    if (!running) children.push(removeButton(variants, 'variant'));
    variants.append(el('li', { class: 'row variant' }, children));
    renumber(variants);
  }

  function addCondition(condition) {
    const c = condition || {};
    const value = el('input', { type: 'text', placeholder: 'DE  or  ["DE", "AT"]' });
    value.value = c.value === undefined ? '' : (typeof c.value === 'string' ? c.value : JSON.stringify(c.value));
    targeting.append(el('li', { class: 'row' }, [
      part('attribute', 'Attribute', el('input', { type: 'text', value: c.attribute || '', placeholder: 'country' })),
      part('op', 'Condition', select(OPS, OP_WORDS, c.op || 'equals')),
      part('value', 'Value', value),
      removeButton(targeting, 'condition'),
    ]));
    renumber(targeting);
  }

  function addMetric(metric) {
    const m = metric || {};
    const row = el('li', { class: 'row metric' }, [
      part('key', 'Metric', el('input', { type: 'text', value: m.key || '', autocomplete: 'off' })),
      part('kind', 'Measures', select(KINDS, KIND_WORDS, m.kind || 'conversion')),
      part('event', 'Event', el('input', { type: 'text', list: 'known-events', value: m.event || '' })),
      part('direction', 'Better when it', select(['increase', 'decrease'], { increase: 'goes up', decrease: 'goes down' }, m.direction || 'increase')),
      part('role', 'Role', select(['primary', 'secondary', 'guardrail'], null, m.role || 'secondary')),
      removeButton(metrics, 'metric'),
    ]);
    // Template fields the form does not show (windows, min_count) travel unchanged.
    const rest = Object.assign({}, m);
    ['key', 'kind', 'event', 'direction', 'role'].forEach(function (name) { delete rest[name]; });
    row.dataset.rest = JSON.stringify(rest);
    metrics.append(row);
    renumber(metrics);
  }

  function stageNames() {
    return Array.from(stages.querySelectorAll('input')).map(function (input) { return input.value.trim(); }).filter(Boolean);
  }

  let guarded = new Set(spec.guardrail_stages || []);
  function syncGuardrails() {
    guardrailBox.querySelectorAll('input:checked').forEach(function (box) { guarded.add(box.value); });
    guardrailBox.querySelectorAll('input:not(:checked)').forEach(function (box) { guarded.delete(box.value); });
    guardrailBox.textContent = '';
    const names = stageNames();
    if (!names.length) {
      guardrailBox.append(el('p', { class: 'hint', text: 'Add journey stages to pick guardrail stages.' }));
      return;
    }
    names.forEach(function (name) {
      const id = 'guard-' + (++uid);
      const box = el('input', { type: 'checkbox', id, value: name, checked: guarded.has(name) });
      guardrailBox.append(el('label', { for: id, class: 'check' }, [box, ' ' + name]));
    });
  }

  function simple(path) { return form.querySelector('[data-path="' + path + '"]'); }
  function fill(path, value) {
    const input = simple(path);
    if (!input || value === undefined || value === null) return;
    const scale = Number(input.dataset.scale || 1);
    if (Array.isArray(value)) input.value = value.join(', ');
    else if (typeof value === 'number' && scale !== 1) input.value = String(Math.round(value * scale * 1e6) / 1e6);
    else input.value = value;
  }

  ['key', 'description', 'touchpoint', 'traffic', 'segments', 'value_event', 'currency', 'guardrail_action',
    'minimum_detectable_effect', 'power', 'conversion_window_hours'].forEach(function (path) { fill(path, spec[path]); });
  if (spec.layer) { fill('layer.name', spec.layer.name); fill('layer.range', spec.layer.range); }
  (spec.journey || []).forEach(addStage);
  if (!(spec.journey || []).length) addStage('');
  (spec.variants || []).forEach(addVariant);
  (spec.targeting || []).forEach(addCondition);
  (spec.metrics || []).forEach(addMetric);
  syncGuardrails();

  form.querySelectorAll('button[data-add]').forEach(function (button) {
    button.addEventListener('click', function () {
      const what = button.dataset.add;
      if (what === 'stage') addStage('');
      if (what === 'variant') addVariant({ key: '', weight: 1 });
      if (what === 'condition') addCondition();
      if (what === 'metric') {
        const template = TEMPLATES[document.getElementById('metric-template').value];
        addMetric(Object.assign({ role: 'secondary' }, template));
      }
    });
  });

  // Errors in words next to their field; a path without its own slot goes to its nearest
  // parent's, or to the list at the bottom.
  function clearErrors() {
    form.querySelectorAll('.field-error').forEach(function (p) { p.hidden = true; p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(function (node) { node.removeAttribute('aria-invalid'); });
    const other = document.getElementById('other-errors');
    other.textContent = '';
    other.hidden = true;
    document.getElementById('form-problem').hidden = true;
  }

  function showError(path, message) {
    let current = path || '';
    for (;;) {
      const slot = form.querySelector('[data-error-for="' + current + '"]');
      if (slot) {
        slot.textContent = (current === path ? '' : path + ': ') + message;
        slot.hidden = false;
        const input = form.querySelector('[data-path="' + current + '"]');
        if (input) input.setAttribute('aria-invalid', 'true');
        return slot;
      }
      const cut = Math.max(current.lastIndexOf('.'), current.lastIndexOf('['));
      if (cut <= 0) break;
      current = current.slice(0, cut);
    }
    const other = document.getElementById('other-errors');
    other.append(el('li', { text: (path ? path + ': ' : '') + message }));
    other.hidden = false;
    return other;
  }

  function numberOf(input, problems) {
    if (input.validity && input.validity.badInput) { problems.push([input.dataset.path, 'must be a number']); return undefined; }
    const text = input.value.trim();
    if (text === '') return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) { problems.push([input.dataset.path, 'must be a number']); return undefined; }
    return value / Number(input.dataset.scale || 1);
  }

  function value(node) { return node.value.trim(); }

  // The definition from the fields; in edit mode, fields the form does not show are kept.
  function build(problems) {
    const out = editing ? Object.assign({}, spec) : {};
    const text = function (path) { const v = value(simple(path)); if (v) out[path] = v; else delete out[path]; };
    ['key', 'description', 'touchpoint', 'value_event', 'currency'].forEach(text);
    ['traffic', 'minimum_detectable_effect', 'power', 'conversion_window_hours'].forEach(function (path) {
      const v = numberOf(simple(path), problems);
      if (v === undefined) delete out[path]; else out[path] = v;
    });
    out.guardrail_action = simple('guardrail_action').value;
    const segments = value(simple('segments')).split(',').map(function (s) { return s.trim(); }).filter(Boolean);
    if (segments.length) out.segments = segments; else delete out.segments;
    out.journey = stageNames();
    out.variants = Array.from(variants.children).map(function (row, index) {
      const get = function (sub) { return row.querySelector('[data-sub="' + sub + '"]'); };
      const variant = { key: value(get('key')) };
      const weight = numberOf(get('weight'), problems);
      variant.weight = weight === undefined ? 1 : weight;
      const payload = value(get('payload'));
      if (payload) {
        try { variant.payload = JSON.parse(payload); } catch (error) {
          problems.push(['variants[' + index + '].payload', 'is not valid JSON (' + error.message + '); write e.g. {"threshold": 35} or "blue"']);
        }
      }
      return variant;
    });
    const conditions = Array.from(targeting.children).map(function (row) {
      const get = function (sub) { return row.querySelector('[data-sub="' + sub + '"]'); };
      const raw = value(get('value'));
      let parsed = raw;
      try { parsed = JSON.parse(raw); } catch (_) { parsed = raw; }
      return { attribute: value(get('attribute')), op: get('op').value, value: parsed };
    });
    if (conditions.length) out.targeting = conditions; else delete out.targeting;
    const declared = Array.from(metrics.children).map(function (row) {
      const get = function (sub) { return row.querySelector('[data-sub="' + sub + '"]'); };
      const metric = JSON.parse(row.dataset.rest || '{}');
      ['key', 'kind', 'event', 'direction', 'role'].forEach(function (sub) { metric[sub] = value(get(sub)); });
      return metric;
    });
    if (declared.length) out.metrics = declared; else delete out.metrics;
    const guard = Array.from(guardrailBox.querySelectorAll('input:checked')).map(function (box) { return box.value; });
    if (guard.length) out.guardrail_stages = guard; else delete out.guardrail_stages;
    const layerName = value(simple('layer.name'));
    if (layerName) {
      const range = value(simple('layer.range')).split(',').map(function (s) { return Number(s.trim()); });
      if (range.length !== 2 || range.some(function (n) { return !Number.isFinite(n); })) {
        problems.push(['layer.range', 'two numbers from 0 to 1, e.g. 0, 0.5']);
      }
      out.layer = { name: layerName, range };
    } else {
      delete out.layer;
    }
    return out;
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    clearErrors();
    const problems = [];
    const definition = build(problems);
    if (!definition.key) problems.push(['key', 'give the experiment a key, e.g. free-shipping-35']);
    if (problems.length) {
      problems.forEach(function ([path, message]) { showError(path, message); });
      const first = form.querySelector('.field-error:not([hidden])');
      if (first) first.scrollIntoView({ block: 'center' });
      return;
    }
    const path = '/v1/experiments/' + encodeURIComponent(definition.key);
    if (!editing) {
      // The list, not GET of the key: a 404 would be a console error on a normal create.
      const list = await api('GET', '/v1/experiments');
      const taken = list.ok && list.body && Array.isArray(list.body.experiments) &&
        list.body.experiments.some(function (e) { return e.key === definition.key; });
      if (taken) {
        showError('key', 'an experiment with this key exists already: pick another key, or edit that one');
        return;
      }
    }
    if (running && !window.confirm(definition.key + ' is running. Save the changes? Units keep their variants; new payloads, targeting and metrics apply from now on.')) return;
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    const reply = await api('PUT', path, definition);
    submit.disabled = false;
    if (reply.ok) {
      window.location.assign('/ui/experiments/' + encodeURIComponent(definition.key));
      return;
    }
    const p = reply.body && typeof reply.body === 'object' ? reply.body : {};
    const problem = document.getElementById('form-problem');
    problem.textContent = (p.title || 'Not saved') + (p.errors && p.errors.length ? ': fix the fields marked below.' : ': ' + (p.detail || 'HTTP ' + reply.status));
    problem.hidden = false;
    if (Array.isArray(p.errors)) p.errors.forEach(function (e) { showError(e.field, e.message); });
    else if (p.field) showError(p.field, p.detail || p.title);
    problem.scrollIntoView({ block: 'center' });
  });

  // The sample-size preview, from the statistics crate's power formula on the server.
  const preview = document.getElementById('sample-preview');
  let timer = null;
  async function updatePreview() {
    const baseline = Number(document.getElementById('preview-baseline').value) / 100;
    const mdeInput = simple('minimum_detectable_effect');
    const powerInput = simple('power');
    const mde = mdeInput.value.trim() === '' ? 0.05 : Number(mdeInput.value) / 100;
    const power = powerInput.value.trim() === '' ? 0.8 : Number(powerInput.value) / 100;
    if (!(baseline > 0 && baseline < 1)) {
      preview.textContent = 'Enter the last stage\'s rate today to see how many units the test needs.';
      return;
    }
    const n = Math.max(2, variants.children.length);
    const query = new URLSearchParams({ baseline, mde, power, variants: n });
    const reply = await api('GET', '/ui/preview/sample-size?' + query);
    if (!reply.ok) {
      preview.textContent = 'No sample size for these numbers: ' + ((reply.body && reply.body.detail) || 'HTTP ' + reply.status);
      return;
    }
    preview.textContent = 'To detect a ' + (mde * 100) + ' % change from a ' + (baseline * 100) + ' % rate with ' +
      Math.round(power * 100) + ' % power: about ' + reply.body.per_variant.toLocaleString('en-US') + ' units per variant, ' +
      reply.body.total.toLocaleString('en-US') + ' in all.';
  }
  ['preview-baseline', 'f-minimum_detectable_effect', 'f-power'].forEach(function (id) {
    const input = document.getElementById(id);
    if (input) input.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(updatePreview, 250); });
  });
  updatePreview();
})();
