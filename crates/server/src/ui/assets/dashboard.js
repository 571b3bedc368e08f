// Touchstone dashboard script: start and stop through the admin API (with confirmation for a
// running experiment), the definition editor (errors placed beside their field by path), the
// over-time charts from the daily snapshots, and every problem+json error shown as it came.
// Plain JavaScript, no build step; the session cookie rides along on same-origin requests.
(function () {
  'use strict';

  async function api(method, path, body, contentType) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
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

  // Start and stop.
  document.querySelectorAll('button[data-action]').forEach(function (button) {
    button.addEventListener('click', async function () {
      const action = button.dataset.action;
      const problem = document.getElementById('action-problem');
      problem.hidden = true;
      if (action === 'stop') {
        const sure = await confirmAction(
          'Stop ' + key + '? It stops assigning units and counting events now. Its results stay.',
          'Stop experiment');
        if (!sure) return;
      }
      button.disabled = true;
      const reply = await api('POST', base + '/' + action);
      if (reply.ok) {
        window.location.reload();
        return;
      }
      button.disabled = false;
      showProblem(problem, reply);
    });
  });

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

  // Effects over time, from the daily snapshots (404 or none: not yet).
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
      const daily = await api('GET', base + '/results/daily');
      const days = daily.ok && daily.body && Array.isArray(daily.body.days) ? daily.body.days : [];
      if (daily.status === 404 || (daily.ok && days.length === 0)) { hint('No daily snapshots yet.'); return; }
      if (!daily.ok) { hint('Daily snapshots could not be read: ' + problemText(daily)); return; }
      // Only what the charts draw travels back, to stay far below the body limit.
      const slim = days.map(function (day) {
        return {
          date: day.date,
          control: day.control,
          variants: (day.variants || []).map(function (v) { return { key: v.key, units: v.units }; }),
          stages: (day.stages || []).map(function (s) {
            return {
              stage: s.stage,
              variants: (s.variants || []).map(function (v) {
                return { key: v.key, vs_control: v.vs_control ? { relative: v.vs_control.relative } : null };
              }),
            };
          }),
          power: { stage: day.power ? day.power.stage : null },
        };
      });
      const chart = await api('POST', '/ui/charts/over-time', JSON.stringify({ days: slim }));
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
