// Touchstone dashboard script: the actions through the admin API (start, stop, ship, a new
// phase, a restart after a guardrail stop), each with a confirmation that says what it does;
// the definition editor (errors placed beside their field by path); the over-time charts from
// the daily snapshots plus now; phase and segment pickers and share links that keep them; and
// every problem+json error shown as it came. Plain JavaScript, no build step; every request is
// same-origin with the session cookie, and every body is JSON with its content type.
(function () {
  'use strict';

  async function api(method, path, body, contentType) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
    if (body !== undefined && typeof body !== 'string') body = JSON.stringify(body);
    let response;
    try {
      response = await fetch(path, { method, headers, body, credentials: 'same-origin' });
    } catch (error) {
      return { ok: false, status: 0, body: { title: 'Network error', detail: String(error) } };
    }
    const type = response.headers.get('Content-Type') || '';
    let parsed = null;
    if (type.includes('json')) {
      try { parsed = await response.json(); } catch (_) { parsed = null; }
    } else {
      parsed = await response.text();
    }
    return { ok: response.ok, status: response.status, body: parsed, problem: type.includes('problem+json') };
  }

  // "Conflict: the weights of a running experiment cannot change … (conflict, HTTP 409)"
  function problemText(reply) {
    const p = reply.body && typeof reply.body === 'object' ? reply.body : {};
    const title = p.title || 'Request failed';
    const detail = p.detail || (typeof reply.body === 'string' ? reply.body : '');
    const field = p.field ? ' — field ' + p.field : '';
    const code = p.code ? p.code + ', ' : '';
    return title + ': ' + detail + field + ' (' + code + 'HTTP ' + reply.status + ')';
  }

  function showProblem(element, reply) {
    element.textContent = problemText(reply);
    element.hidden = false;
  }

  function confirmAction(text, yesLabel) {
    const dialog = document.getElementById('confirm');
    if (!dialog || typeof dialog.showModal !== 'function') {
      return Promise.resolve(window.confirm(text));
    }
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-yes').textContent = yesLabel;
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise(function (resolve) {
      dialog.addEventListener('close', function () { resolve(dialog.returnValue === 'confirm'); }, { once: true });
    });
  }

  const page = document.querySelector('.experiment');
  const key = page ? page.dataset.experiment : null;
  const running = page ? page.dataset.status === 'running' : false;
  const base = key ? '/v1/experiments/' + encodeURIComponent(key) : null;

  const phaseShown = page ? page.dataset.phase : null;
  const currentPhase = page ? page.dataset.currentPhase : null;
  const guardrailStopped = page ? page.dataset.guardrailStopped === 'true' : false;

  // The dialog for actions that need more than a yes. Resolves to null (cancelled) or the
  // chosen variant, weights and reason.
  function askAction(options) {
    const dialog = document.getElementById('act');
    document.getElementById('act-title').textContent = options.title;
    document.getElementById('act-text').textContent = options.text;
    document.getElementById('act-yes').textContent = options.yes;
    document.getElementById('act-variant-field').hidden = !options.variant;
    document.getElementById('act-weights').hidden = !options.weights;
    document.getElementById('act-reason-field').hidden = !options.reason;
    const reason = document.getElementById('act-reason');
    const reasonError = document.getElementById('act-reason-error');
    reason.value = '';
    reasonError.hidden = true;
    document.getElementById('act-problem').hidden = true;
    const yes = document.getElementById('act-yes');
    const check = function (event) {
      if (options.reason && !reason.value.trim()) {
        event.preventDefault();
        reasonError.hidden = false;
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
      }
    };
    yes.addEventListener('click', check);
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise(function (resolve) {
      dialog.addEventListener('close', function () {
        yes.removeEventListener('click', check);
        if (dialog.returnValue !== 'confirm') { resolve(null); return; }
        const weights = Array.from(document.querySelectorAll('#act-weights input')).map(function (input) { return Number(input.value); });
        resolve({ variant: document.getElementById('act-variant').value, weights, reason: reason.value.trim() });
      }, { once: true });
    });
  }

  async function act(button, steps) {
    const problem = document.getElementById('action-problem');
    problem.hidden = true;
    button.disabled = true;
    for (const [method, path, body] of steps) {
      const reply = await api(method, path, body);
      if (!reply.ok) {
        button.disabled = false;
        showProblem(problem, reply);
        return;
      }
    }
    window.location.assign(window.location.pathname);
  }

  async function restart(button) {
    const answer = await askAction({
      title: 'Restart ' + key + ' after the guardrail stop?',
      text: 'It starts again in a new phase (phase ' + (Number(currentPhase) + 1) + ') that counts from zero, and the guardrail watches it again at once: if the variant still harms, it is stopped again within a few checks. Restart only once the cause is fixed.',
      reason: true,
      yes: 'Restart in a new phase',
    });
    if (!answer) return;
    // One request: running and the next phase together, so the guardrail cannot stop it
    // again on the old phase's counts in between.
    await act(button, [['POST', base + '/start', { reason: answer.reason, new_phase: true }]]);
  }

  document.querySelectorAll('button[data-action]').forEach(function (button) {
    button.addEventListener('click', async function () {
      const action = button.dataset.action;
      if (action === 'restart' || (action === 'start' && guardrailStopped)) { await restart(button); return; }
      if (action === 'start') {
        const again = page.dataset.status === 'stopped';
        const sure = await confirmAction(again
          ? 'Start ' + key + ' again? It continues phase ' + currentPhase + ': units keep their variants and their events count again from now.'
          : 'Start ' + key + '? From now on it assigns units at its touchpoint and counts their events.',
        again ? 'Start again' : 'Start experiment');
        if (sure) await act(button, [['POST', base + '/start']]);
        return;
      }
      if (action === 'stop') {
        const shipped = page.dataset.status === 'shipped';
        const sure = await confirmAction(shipped
          ? 'Withdraw the shipped variant of ' + key + '? Units get the default experience again; the experiment cannot run again.'
          : 'Stop ' + key + '? It stops assigning units and counting events now. Its results stay.',
        shipped ? 'Withdraw' : 'Stop experiment');
        if (sure) await act(button, [['POST', base + '/stop']]);
        return;
      }
      if (action === 'ship') {
        const answer = await askAction({
          title: 'Ship a variant of ' + key,
          text: 'Every unit the targeting admits gets the chosen variant\'s payload from now on; nothing more is counted and the results freeze as they are.',
          variant: true,
          yes: 'Ship it',
        });
        if (answer) await act(button, [['POST', base + '/ship', { variant: answer.variant }]]);
        return;
      }
      if (action === 'phase') {
        const answer = await askAction({
          title: 'Start phase ' + (Number(currentPhase) + 1) + ' of ' + key,
          text: 'The new phase re-randomizes every unit with a fresh salt and counts from zero; this phase stays readable. Set the weights of the new phase and say why.',
          weights: true,
          reason: true,
          yes: 'Start the new phase',
        });
        if (answer) await act(button, [['POST', base + '/phases', { weights: answer.weights, reason: answer.reason }]]);
      }
    });
  });

  // Phase and segment pickers, and links that keep them and the section in view.
  function addressWith(changes) {
    const url = new URL(window.location.href);
    Object.entries(changes).forEach(function ([name, value]) {
      if (value) url.searchParams.set(name, value); else url.searchParams.delete(name);
    });
    url.hash = '';
    return url;
  }
  const phaseSelect = document.getElementById('phase-select');
  if (phaseSelect) {
    phaseSelect.addEventListener('change', function () {
      window.location.assign(addressWith({ phase: phaseSelect.value === currentPhase ? null : phaseSelect.value, view: null }));
    });
  }
  const segmentSelect = document.getElementById('segment-select');
  if (segmentSelect) {
    segmentSelect.addEventListener('change', function () {
      window.location.assign(addressWith({ segment: segmentSelect.value, view: 'segments' }));
    });
  }
  const requested = new URLSearchParams(window.location.search).get('view');
  const view = requested && /^[a-z0-9-]+$/.test(requested) ? requested : null;
  if (view) {
    const target = document.getElementById(view);
    if (target) target.scrollIntoView();
  }
  const shareButton = document.getElementById('share-link');
  if (shareButton) {
    shareButton.addEventListener('click', async function () {
      // The view the page was opened at, else the section at the top of the window.
      const sections = Array.from(document.querySelectorAll('main section[id]'));
      const inView = sections.filter(function (section) { return section.getBoundingClientRect().top <= 80; }).pop();
      const link = addressWith({
        phase: phaseShown !== currentPhase ? phaseShown : null,
        segment: segmentSelect ? segmentSelect.value : null,
        view: view || (inView ? inView.id : null),
      }).toString();
      const note = document.getElementById('share-note');
      note.hidden = false;
      note.textContent = 'Link: ' + link;
      note.dataset.link = link;
      try {
        await navigator.clipboard.writeText(link);
        note.textContent = 'Copied: ' + link;
      } catch (_) { /* the link stays shown to copy by hand */ }
    });
  }

  // The definition editor.
  const form = document.getElementById('definition-form');
  if (form) {
    const textarea = document.getElementById('definition-text');
    const gutter = form.querySelector('.gutter');
    const list = document.getElementById('definition-errors');
    let marks = [];

    // Offsets of every field path (`variants[1].weight`) in a JSON text, at the field's key
    // (or the array element). Only called on text JSON.parse accepted.
    function fieldOffsets(text) {
      const offsets = new Map();
      let i = 0;
      const space = function () { while (i < text.length && /\s/.test(text[i])) i++; };
      const string = function () {
        let out = '';
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') { out += text[i + 1]; i += 2; } else { out += text[i]; i++; }
        }
        i++;
        return out;
      };
      const value = function (path, at) {
        space();
        offsets.set(path, at === undefined ? i : at);
        const c = text[i];
        if (c === '{') {
          i++; space();
          if (text[i] === '}') { i++; return; }
          for (;;) {
            space();
            const start = i;
            const name = string();
            space(); i++; // the colon
            value(path ? path + '.' + name : name, start);
            space();
            if (text[i] === ',') { i++; continue; }
            i++; return;
          }
        }
        if (c === '[') {
          i++; space();
          if (text[i] === ']') { i++; return; }
          for (let n = 0; ; n++) {
            value(path + '[' + n + ']');
            space();
            if (text[i] === ',') { i++; continue; }
            i++; return;
          }
        }
        if (c === '"') { string(); return; }
        while (i < text.length && !/[,\]}\s]/.test(text[i])) i++;
      };
      value('');
      return offsets;
    }

    function lineAt(text, offset) {
      return text.slice(0, offset).split('\n').length;
    }

    // The line of a field, or of its nearest parent that is in the text (a missing field).
    function lineOf(text, path) {
      let offsets;
      try { JSON.parse(text); offsets = fieldOffsets(text); } catch (_) { return 1; }
      let current = path || '';
      for (;;) {
        if (offsets.has(current)) return lineAt(text, offsets.get(current));
        if (current === '') return 1;
        const cut = Math.max(current.lastIndexOf('.'), current.lastIndexOf('['));
        current = cut > 0 ? current.slice(0, cut) : '';
      }
    }

    function lineHeight() {
      return parseFloat(window.getComputedStyle(textarea).lineHeight) || 20;
    }

    function placeMarks() {
      const padding = parseFloat(window.getComputedStyle(textarea).paddingTop) || 0;
      marks.forEach(function (mark) {
        mark.element.style.top = ((mark.line - 1) * lineHeight() + padding - textarea.scrollTop) + 'px';
      });
    }

    function jumpTo(line) {
      const lines = textarea.value.split('\n');
      const start = lines.slice(0, line - 1).reduce(function (sum, l) { return sum + l.length + 1; }, 0);
      textarea.focus();
      textarea.setSelectionRange(start, start + (lines[line - 1] || '').length);
      textarea.scrollTop = Math.max(0, (line - 3) * lineHeight());
      placeMarks();
    }

    function clearErrors() {
      list.textContent = '';
      gutter.textContent = '';
      marks = [];
      textarea.removeAttribute('aria-invalid');
    }

    // errors: [{field, message, code}] → a list below and marks beside the lines.
    function showFieldErrors(errors, heading) {
      clearErrors();
      textarea.setAttribute('aria-invalid', 'true');
      const text = textarea.value;
      const intro = document.createElement('p');
      intro.className = 'problem';
      intro.textContent = heading;
      list.appendChild(intro);
      const ol = document.createElement('ol');
      errors.forEach(function (error) {
        const line = lineOf(text, error.field);
        const item = document.createElement('li');
        item.dataset.field = error.field || '';
        item.dataset.line = String(line);
        const jump = document.createElement('button');
        jump.type = 'button';
        jump.className = 'jump';
        jump.textContent = 'line ' + line;
        jump.addEventListener('click', function () { jumpTo(line); });
        const field = document.createElement('code');
        field.textContent = error.field || 'definition';
        item.append(jump, ' ', field, ': ' + error.message + (error.code ? ' (' + error.code + ')' : ''));
        ol.appendChild(item);
        const mark = document.createElement('div');
        mark.className = 'mark';
        mark.dataset.field = error.field || '';
        mark.textContent = '⚠ ' + (error.field || 'definition') + ': ' + error.message;
        mark.title = mark.textContent;
        gutter.appendChild(mark);
        marks.push({ element: mark, line: line });
      });
      list.appendChild(ol);
      placeMarks();
    }

    textarea.addEventListener('scroll', placeMarks);
    form.addEventListener('reset', clearErrors);

    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      clearErrors();
      const text = textarea.value;
      try {
        JSON.parse(text);
      } catch (error) {
        const where = /position (\d+)/.exec(String(error.message));
        const lineMatch = /line (\d+)/.exec(String(error.message));
        const line = lineMatch ? Number(lineMatch[1]) : where ? lineAt(text, Number(where[1])) : 1;
        showFieldErrors([{ field: '', message: 'not valid JSON: ' + error.message }], 'The definition is not valid JSON (near line ' + line + ').');
        marks.forEach(function (mark) { mark.line = line; });
        list.querySelectorAll('li').forEach(function (li) { li.dataset.line = String(line); li.querySelector('button').textContent = 'line ' + line; });
        placeMarks();
        return;
      }
      if (running) {
        const sure = await confirmAction(
          key + ' is running. Save the changed definition? Units keep their variants; new payloads, targeting and metrics apply from now on.',
          'Save while running');
        if (!sure) return;
      }
      const submit = form.querySelector('button[type=submit]');
      submit.disabled = true;
      const reply = await api('PUT', base, text, 'application/json');
      submit.disabled = false;
      if (reply.ok) {
        window.location.reload();
        return;
      }
      const p = reply.body && typeof reply.body === 'object' ? reply.body : {};
      if (Array.isArray(p.errors) && p.errors.length) {
        showFieldErrors(p.errors, problemText(reply));
      } else {
        showFieldErrors([{ field: p.field || '', message: p.detail || 'refused', code: p.code }], problemText(reply));
      }
    });
  }

  // Effects over time: the phase's daily snapshots plus the results now (so day one already
  // shows a point), drawn by the server's chart code.
  const overTime = document.getElementById('over-time-chart');
  if (overTime && base) {
    (async function () {
      const hint = function (text) {
        overTime.textContent = '';
        const p = document.createElement('p');
        p.className = 'hint';
        p.textContent = text;
        overTime.appendChild(p);
      };
      const query = phaseShown && phaseShown !== currentPhase ? '?phase=' + encodeURIComponent(phaseShown) : '';
      const [daily, now] = await Promise.all([api('GET', base + '/results/daily' + query), api('GET', base + '/results' + query)]);
      if (!daily.ok && daily.status !== 404) { hint('Daily snapshots could not be read: ' + problemText(daily)); return; }
      if (!now.ok) { hint('Results could not be read: ' + problemText(now)); return; }
      const days = daily.ok && daily.body && Array.isArray(daily.body.days) ? daily.body.days : [];
      const comparison = function (c) {
        return c ? { relative: c.relative, sequential: c.sequential ? { ci: c.sequential.ci } : null } : null;
      };
      // Only what the charts draw travels back, to stay far below the body limit.
      const slim = days.concat([Object.assign({ date: 'now' }, now.body)]).map(function (day) {
        return {
          date: day.date,
          control: day.control,
          variants: (day.variants || []).map(function (v) { return { key: v.key, units: v.units }; }),
          stages: (day.stages || []).map(function (s) {
            return {
              stage: s.stage,
              variants: (s.variants || []).map(function (v) { return { key: v.key, rate: v.rate, vs_control: comparison(v.vs_control) }; }),
            };
          }),
          metrics: (day.metrics || []).map(function (m) {
            return {
              metric: m.metric,
              variants: (m.variants || []).map(function (v) { return { key: v.key, mean: v.mean, vs_control: comparison(v.vs_control) }; }),
            };
          }),
        };
      });
      const chart = await api('POST', '/ui/charts/over-time', { days: slim });
      if (!chart.ok) { hint('The chart could not be drawn: ' + problemText(chart)); return; }
      overTime.innerHTML = chart.body; // rendered and escaped by the server
    })();
  }

  // Days running on the list: one per daily snapshot.
  document.querySelectorAll('td[data-days-for]').forEach(async function (cell) {
    const reply = await api('GET', '/v1/experiments/' + encodeURIComponent(cell.dataset.daysFor) + '/results/daily');
    const days = reply.ok && reply.body && Array.isArray(reply.body.days) ? reply.body.days : [];
    if (days.length) {
      const first = days.map(function (d) { return d.date; }).sort()[0];
      cell.textContent = days.length + (days.length === 1 ? ' day' : ' days');
      cell.title = 'daily snapshots since ' + first;
    }
  });
})();
