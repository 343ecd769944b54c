// The drawing page of `python -m sketch_rnn_tf serve`: plain JavaScript, no libraries.
//
// Units. The pad's side stands for `pad_size` pixels of the chosen model (the server's /api/model
// answer: 14 times the model's scale factor, so that a drawing the size of the model's own samples
// fills most of the pad; see serve/models.py), whatever its size on screen. The pad keeps what you
// draw as fractions of its side; for the model each line is scaled to those pixels, simplified with
// Ramer-Douglas-Peucker (epsilon 2.0 pixels, as the sketch-rnn data were) and rounded to whole
// pixels. Switching models rescales the same drawing to the new model's pixels.
//
// The drawing goes to the server as stroke-3 rows [dx, dy, pen_lifted]: row 0 is the first point,
// (0, 0) from itself, and every later row the offset from the point before; pen_lifted = 1 on the
// last point of each line. (The bundled sheep model's L_R on 22 real Quick, Draw! sheep in screen
// pixels is -0.4155 with that first (0, 0) row and -0.4128 without it.)
'use strict';

(function () {
  const EPSILON = 2.0;
  const DEFAULT_PAD_SIZE = 255;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const COLORS = ['#d1495b', '#00798c', '#edae49', '#30638e', '#6a4c93', '#3b8b5a', '#e76f51',
                  '#8a5a44', '#c44ea3', '#4f772d', '#2b59c3', '#b5651d', '#9a031e', '#227c9d',
                  '#7b2cbf', '#5c8001'];

  const [pad, padLines, results, resultsTitle, statusEl, pointsEl, modelSelect, modelInfo,
    temperature, temperatureValue, count, reconstructButton] = [
    'pad', 'pad-lines', 'results', 'results-title', 'status', 'points', 'model', 'model-info',
    'temperature', 'temperature-value', 'count', 'reconstruct',
  ].map((id) => document.getElementById(id));

  const state = {
    lines: [],        // finished lines as drawn: [[x, y], ...] in fractions of the pad's side
    current: null,    // the line being drawn
    pointerId: null,
    model: null,      // the server's /api/model answer
    request: 0,       // id of the latest request; older answers are dropped
    shown: null,      // {kind, given, sketches} on display
  };

  // ------------------------------------------------------------------ geometry
  function distanceToSegment(p, a, b) {
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const len2 = dx * dx + dy * dy;
    let t = len2 === 0 ? 0 : ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2;
    t = Math.max(0, Math.min(1, t));
    return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
  }

  // Ramer-Douglas-Peucker: keep both ends, and recursively the point farthest from the chord
  // while it lies more than epsilon away.
  function rdp(points, epsilon) {
    if (points.length < 3) return points.slice();
    const keep = new Array(points.length).fill(false);
    keep[0] = keep[points.length - 1] = true;
    const stack = [[0, points.length - 1]];
    while (stack.length) {
      const [lo, hi] = stack.pop();
      let best = -1;
      let bestDist = epsilon;
      for (let i = lo + 1; i < hi; i++) {
        const d = distanceToSegment(points[i], points[lo], points[hi]);
        if (d > bestDist) { best = i; bestDist = d; }
      }
      if (best >= 0) {
        keep[best] = true;
        stack.push([lo, best], [best, hi]);
      }
    }
    return points.filter((_, i) => keep[i]);
  }

  function simplify(points) {
    const out = [];
    for (const [x, y] of rdp(points, EPSILON)) {
      const p = [Math.round(x), Math.round(y)];
      const last = out[out.length - 1];
      if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p);
    }
    return out;
  }

  function padSize() {
    return state.model ? state.model.pad_size : DEFAULT_PAD_SIZE;
  }

  // The finished lines in the model's pixels, simplified.
  function modelLines() {
    const size = padSize();
    return state.lines.map((line) => simplify(line.map(([x, y]) => [x * size, y * size])))
      .filter((line) => line.length);
  }

  // Lines in model pixels -> stroke-3 rows (see the top of this file).
  function toStroke3(lines) {
    const rows = [];
    if (!lines.length) return rows;
    let [px, py] = lines[0][0];
    for (const line of lines) {
      line.forEach(([x, y], i) => {
        rows.push([x - px, y - py, i === line.length - 1 ? 1 : 0]);
        px = x;
        py = y;
      });
    }
    return rows;
  }

  // Stroke-3 rows -> polylines [{points: [[x, y], ...], part: 'given' | 'ending'}] from `origin`.
  // The segment into point i is drawn when the pen was down after point i-1.
  function toPolylines(rows, origin, givenCount) {
    const lines = [];
    let x = origin[0];
    let y = origin[1];
    let current = null;
    rows.forEach(([dx, dy, lifted], i) => {
      const part = i < givenCount ? 'given' : 'ending';
      const prev = [x, y];
      x += dx;
      y += dy;
      if (!current || current.part !== part) {
        const penDown = current && i > 0 && !rows[i - 1][2];
        current = {points: penDown ? [prev] : [], part};
        lines.push(current);
      }
      current.points.push([x, y]);
      if (lifted) current = null;
    });
    return lines;
  }

  function bounds(lineSets) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const lines of lineSets) {
      for (const line of lines) {
        for (const [x, y] of line.points) {
          x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
        }
      }
    }
    if (!isFinite(x0)) return [0, 0, padSize(), padSize()];
    return [x0, y0, x1, y1];
  }

  // ------------------------------------------------------------------ drawing SVG
  function el(name, attrs) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  function pointsAttr(points) {
    return points.map(([x, y]) => `${+x.toFixed(2)},${+y.toFixed(2)}`).join(' ');
  }

  // The model's lines are drawn as they would be drawn: each one's stroke grows in turn
  // (CSS stroke-dashoffset over pathLength 1; style.css), after the given lines, shown at once.
  function sketchSvg(lines, box, color, label) {
    const [x0, y0, x1, y1] = box;
    const size = Math.max(x1 - x0, y1 - y0, 1);
    const margin = size * 0.06 + 2;
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    const half = size / 2 + margin;
    const svg = el('svg', {
      xmlns: SVG_NS, viewBox: `${cx - half} ${cy - half} ${2 * half} ${2 * half}`,
      width: 170, height: 170, role: 'img', 'aria-label': label,
    });
    const width = (2 * half) / 120;   // about 1.4 screen pixels at 170 px
    const endings = lines.filter((line) => line.part !== 'given');
    const seconds = Math.min(0.25, 2.0 / Math.max(endings.length, 1));
    for (const line of lines) {
      if (line.points.length === 1) line.points.push(line.points[0]);
      const attrs = {
        points: pointsAttr(line.points), fill: 'none',
        stroke: line.part === 'given' ? '#111' : color, 'stroke-width': width.toFixed(3),
        'stroke-linecap': 'round', 'stroke-linejoin': 'round',
      };
      if (line.part !== 'given') Object.assign(attrs, {class: 'ending', pathLength: 1});
      const node = svg.appendChild(el('polyline', attrs));
      if (line.part !== 'given') {  // CSSOM, not a style attribute (the page's CSP allows no inline style)
        node.style.animationDelay = `${(endings.indexOf(line) * seconds).toFixed(3)}s`;
        node.style.animationDuration = `${seconds.toFixed(3)}s`;
      }
    }
    return svg;
  }

  function redrawPad() {
    const size = padSize();
    pad.setAttribute('viewBox', `0 0 ${size} ${size}`);
    padLines.replaceChildren();
    const all = modelLines();
    if (state.current) all.push(state.current.map(([x, y]) => [x * size, y * size]));
    for (const line of all) {
      const pts = line.length === 1 ? [line[0], line[0]] : line;
      padLines.appendChild(el('polyline', {points: pointsAttr(pts),
                                           'vector-effect': 'non-scaling-stroke'}));
    }
    const n = toStroke3(modelLines()).length;
    const limit = state.model ? state.model.max_seq_len - 1 : null;
    pointsEl.textContent = n ? `${n} points` + (limit ? ` (this model finishes up to ${limit})` : '')
      : '';
  }

  function showResults(kind, sketches, givenCount) {
    const lines = modelLines();
    const origin = lines.length ? lines[0][0] : [0, 0];
    const lineSets = sketches.map((rows) => toPolylines(rows, origin, givenCount));
    const box = bounds(lineSets);
    results.replaceChildren();
    lineSets.forEach((lines, i) => {
      results.appendChild(sketchSvg(lines, box, COLORS[i % COLORS.length], `${kind} ${i + 1}`));
    });
    resultsTitle.textContent = kind === 'reconstruction' ? 'Reconstructions' : 'Completions';
    state.shown = {kind, sketches, givenCount};
  }

  // ------------------------------------------------------------------ server
  async function postJSON(path, body) {
    const response = await fetch(path, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body),
    });
    let data;
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }

  function setStatus(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle('error', !!isError);
  }

  function requestBody() {
    const n = Math.max(1, Math.min(16, parseInt(count.value, 10) || 4));
    return {
      strokes: toStroke3(modelLines()), n, temperature: parseFloat(temperature.value),
      model: state.model ? state.model.name : undefined,
    };
  }

  async function ask(kind) {
    if (!state.lines.length) return;
    const id = ++state.request;
    const body = requestBody();
    results.setAttribute('aria-busy', 'true');
    setStatus(kind === 'reconstruction' ? 'reconstructing…' : 'finishing your drawing…');
    try {
      const path = kind === 'reconstruction' ? '/api/reconstruct' : '/api/complete';
      const data = await postJSON(path, body);
      if (id !== state.request) return;
      showResults(kind, data.sketches, kind === 'reconstruction' ? 0 : body.strokes.length);
      setStatus(`${data.sketches.length} ${kind === 'reconstruction' ? 'reconstructions' : 'completions'} at temperature ${body.temperature.toFixed(2)}`);
    } catch (e) {
      if (id !== state.request) return;
      setStatus(e.message, true);
    } finally {
      if (id === state.request) results.removeAttribute('aria-busy');
    }
  }

  function clearResults() {
    state.request++;
    results.replaceChildren();
    results.removeAttribute('aria-busy');
    state.shown = null;
  }

  // ------------------------------------------------------------------ pointer input
  function padPoint(event) {
    const rect = pad.getBoundingClientRect();
    return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
  }

  pad.addEventListener('pointerdown', (event) => {
    if (event.pointerType === 'mouse' && event.button !== 0) return;
    if (state.current) return;
    event.preventDefault();
    state.pointerId = event.pointerId;
    try { pad.setPointerCapture(event.pointerId); } catch (e) { /* not capturable: fine */ }
    state.current = [padPoint(event)];
    redrawPad();
  });

  pad.addEventListener('pointermove', (event) => {
    if (!state.current || event.pointerId !== state.pointerId) return;
    event.preventDefault();
    const p = padPoint(event);
    const last = state.current[state.current.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= 0.001) {
      state.current.push(p);
      redrawPad();
    }
  });

  function penUp(event) {
    if (!state.current || event.pointerId !== state.pointerId) return;
    state.lines.push(state.current);
    state.current = null;
    state.pointerId = null;
    redrawPad();
    ask('completion');
  }
  pad.addEventListener('pointerup', penUp);
  pad.addEventListener('pointercancel', penUp);

  // ------------------------------------------------------------------ controls
  document.getElementById('undo').addEventListener('click', () => {
    state.lines.pop();
    redrawPad();
    if (state.lines.length) ask('completion');
    else { clearResults(); setStatus(''); }
  });

  document.getElementById('clear').addEventListener('click', () => {
    state.lines = [];
    state.current = null;
    redrawPad();
    clearResults();
    setStatus('');
  });

  reconstructButton.addEventListener('click', () => ask('reconstruction'));

  // ------------------------------------------------------------------ an SVG drawing to start from
  // The server reads it (the model's front door: sized as the model draws, simplified as its data
  // were) and answers lines on the pad, which replace the drawing; then the model finishes it.
  async function startFromSvg(file) {
    if (!file) return;
    try {
      const text = await file.text();
      const data = await postJSON('/api/svg', {svg: text, model: state.model ? state.model.name : undefined});
      state.lines = data.lines;
      state.current = null;
      redrawPad();
      setStatus(`${file.name}: ${data.lines.length} lines`);
      ask('completion');
    } catch (e) {
      setStatus(`${file.name}: ${e.message}`, true);
    }
  }
  const svgFile = document.getElementById('svg-file');
  svgFile.addEventListener('change', () => {
    startFromSvg(svgFile.files[0]);
    svgFile.value = '';
  });
  pad.addEventListener('dragover', (event) => event.preventDefault());
  pad.addEventListener('drop', (event) => {
    event.preventDefault();
    startFromSvg(event.dataTransfer.files[0]);
  });

  temperature.addEventListener('input', () => {
    temperatureValue.textContent = parseFloat(temperature.value).toFixed(2);
  });
  temperature.addEventListener('change', () => ask(state.shown ? state.shown.kind : 'completion'));
  count.addEventListener('change', () => ask(state.shown ? state.shown.kind : 'completion'));

  document.getElementById('download').addEventListener('click', () => {
    const figures = Array.from(results.querySelectorAll('svg'));
    let body;
    const size = 170;
    if (figures.length) {
      body = figures.map((svg, i) => {
        const copy = svg.cloneNode(true);
        copy.setAttribute('x', i * size);
        copy.setAttribute('y', 0);
        return new XMLSerializer().serializeToString(copy);
      }).join('\n');
    } else {
      const lines = modelLines().map((l) => ({points: l, part: 'given'}));
      body = new XMLSerializer().serializeToString(
        sketchSvg(lines, bounds([lines]), '#111', 'drawing'));
    }
    const width = Math.max(1, figures.length) * size;
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="${SVG_NS}" width="${width}" ` +
      `height="${size}" viewBox="0 0 ${width} ${size}">\n<rect width="100%" height="100%" ` +
      `fill="white"/>\n${body}\n</svg>\n`;
    const url = URL.createObjectURL(new Blob([text], {type: 'image/svg+xml'}));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'sketch-rnn.svg';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  async function selectModel(name) {
    setStatus(`loading model ${name}…`);
    try {
      const info = await postJSON('/api/model', {model: name});
      state.model = info;
      modelInfo.textContent = info.conditional
        ? `conditional (VAE): ${info.enc_model} encoder, ${info.dec_model} ${info.dec_rnn_size} decoder, z ${info.z_size}`
        : `decoder-only: ${info.dec_model} ${info.dec_rnn_size}`;
      reconstructButton.hidden = !info.conditional;
      setStatus(`model ${name} ready`);
      redrawPad();
      if (state.lines.length) ask('completion');
    } catch (e) {
      setStatus(e.message, true);
    }
  }

  modelSelect.addEventListener('change', () => selectModel(modelSelect.value));

  async function start() {
    try {
      const response = await fetch('/api/models');
      const data = await response.json();
      for (const name of data.models) {
        const option = document.createElement('option');
        option.value = name;
        option.textContent = name;
        modelSelect.appendChild(option);
      }
      if (data.defaults) {  // the server's (the samplers') default temperature and count
        temperature.value = data.defaults.temperature;
        temperatureValue.textContent = parseFloat(temperature.value).toFixed(2);
      }
      modelSelect.value = data.default;
      await selectModel(data.default);
    } catch (e) {
      setStatus(`cannot reach the server: ${e.message}`, true);
    }
  }

  start();
}());
