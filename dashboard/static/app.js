// The dashboard's pages. Each asks /api/ for its data and draws it with the
// vendored Chart.js; nothing is fetched from elsewhere. When a page has drawn
// everything it sets body[data-ready], which the browser tests (and their
// screenshot) wait for; a failure shows in the error banner and on the console.
'use strict';

const page = document.body.dataset.page;
const query = new URLSearchParams(location.search);

// Charts show the database as it is: animations would only delay that.
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;

// ---- helpers ----

async function api(path, params) {
  const url = '/api/' + path + (params ? '?' + new URLSearchParams(params) : '');
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${body.error || res.statusText}`);
  return body;
}

function fail(err) {
  const box = document.getElementById('error');
  box.hidden = false;
  box.textContent = String(err && err.message ? err.message : err);
  console.error(err);
}

// el builds an element; text goes in as text, never as HTML, since names and
// errors come from the database.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// table fills a <table> from column definitions {title, value(row), num}.
function table(node, columns, rows, rowAttrs) {
  node.replaceChildren(
    el('thead', {}, el('tr', {}, columns.map(c => el('th', { class: c.num ? 'num' : '' }, c.title)))),
    el('tbody', {}, rows.map(r => el('tr', rowAttrs ? rowAttrs(r) : {},
      columns.map(c => el('td', { class: c.cls ? c.cls(r) : (c.num ? 'num' : '') }, c.value(r)))))));
}

// fmt shows a number that may be missing (JSON null) with d decimals.
function fmt(x, d = 1) {
  if (x === null || x === undefined) return 'n/a';
  return Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

// sig shows a cost with three significant digits (0.31 ms, 1,250 interactions).
function sig(x) {
  if (x === null || x === undefined) return 'n/a';
  if (x === 0) return '0';
  return Number(x).toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

// meanSD shows a mean over seeds and, for two seeds or more, their sd.
function meanSD(st) {
  if (st.mean === null) return 'n/a';
  return st.sd === null ? fmt(st.mean) : `${fmt(st.mean)} ± ${fmt(st.sd)}`;
}

// logTick labels a log axis at 1, 2 and 5 times a power of ten only: the
// labels Chart.js puts at every tick collide.
function logTick(v) {
  const m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
  return [1, 2, 5].some(k => Math.abs(m - k) < 1e-6) ? sig(v) : '';
}

function duration(s) {
  if (s === null || s === undefined) return 'n/a';
  s = Math.round(s);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

function when(t) {
  return t ? t.slice(0, 19).replace('T', ' ') : '';
}

function statusCell(status) {
  return el('span', { class: 'status-' + status }, status);
}

// Colours by model, in the order models first appear; the paper's five
// models keep fixed ones across pages.
const palette = ['#2a5db0', '#d1495b', '#1b7f3b', '#8e44ad', '#e69500', '#00798c', '#6b4226', '#c2185b', '#455a64', '#7cb342'];
const fixedColours = { 'base': 0, 'inflated': 1, 'fast': 2, 'inflated>base': 3, 'inflated>base>fast': 4 };
const colourOf = (() => {
  const seen = {};
  let next = Object.keys(fixedColours).length;
  return model => {
    if (!(model in seen)) seen[model] = model in fixedColours ? fixedColours[model] : next++;
    return palette[seen[model] % palette.length];
  };
})();

function withAlpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

// ---- the config diff of two runs, clicked on a chart ----

const diffPanel = {
  a: null,
  b: null,
  // choose makes run id A, or B when A is chosen and B is not.
  async choose(id) {
    if (this.a === null || this.b !== null) {
      this.a = id;
      this.b = null;
    } else {
      this.b = id;
    }
    document.querySelectorAll('tr.selected-a, tr.selected-b').forEach(r => r.classList.remove('selected-a', 'selected-b'));
    document.querySelectorAll(`tr[data-run="${this.a}"]`).forEach(r => r.classList.add('selected-a'));
    document.querySelectorAll(`tr[data-run="${this.b}"]`).forEach(r => r.classList.add('selected-b'));
    const box = document.getElementById('diff');
    if (this.b === null) {
      box.replaceChildren(el('p', {}, el('span', { class: 'chip a' }, 'A'), ` run ${this.a}: now click another run for B.`));
      return;
    }
    try {
      const d = await api('diff', { a: this.a, b: this.b });
      renderDiff(box, d);
    } catch (err) {
      fail(err);
    }
  },
};

function renderDiff(box, d) {
  const name = r => `run ${r.run_id}: ${r.model}, seed ${r.seed} (${r.experiment}, ${r.status})`;
  const params = el('table', { id: 'diff-params' });
  table(params, [
    { title: 'param', value: c => c.key },
    { title: 'A', value: c => c.a === null ? '(absent)' : c.a },
    { title: 'B', value: c => c.b === null ? '(absent)' : c.b },
  ], d.params);
  const metrics = el('table', { id: 'diff-metrics' });
  table(metrics, [
    { title: 'metric', value: m => m.name },
    { title: 'A', value: m => sig(m.a), num: true },
    { title: 'B', value: m => sig(m.b), num: true },
  ], d.metrics);
  box.replaceChildren(
    el('p', {}, el('span', { class: 'chip a' }, 'A'), ' ', name(d.a), el('br'), el('span', { class: 'chip b' }, 'B'), ' ', name(d.b)),
    el('p', { class: 'hint' }, d.params.length === 0
      ? `Their ${d.same} params are all equal.`
      : `${d.params.length} params differ; ${d.same} others are equal.`),
    el('div', { class: 'grid two' }, el('div', {}, params), el('div', {}, metrics)));
}

// ---- live status: every page's header, and the runs page's section ----

async function refreshStatus() {
  const s = await api('status');
  const live = document.getElementById('live');
  live.textContent = s.running.length ? `● ${s.running.length} running` : 'no run running';
  live.classList.toggle('busy', s.running.length > 0);
  if (s.failed) live.textContent += ` · ${s.failed} failed`;
  const box = document.getElementById('status');
  if (!box) return;
  document.getElementById('status-time').textContent = 'as of ' + when(s.now) + ' UTC, refreshed every 5 s';
  const parts = [];
  if (s.running.length === 0) {
    parts.push(el('p', {}, 'No run is running.'));
  } else {
    const t = el('table', { id: 'running' });
    table(t, [
      { title: 'run', value: r => r.run_id, num: true },
      { title: 'experiment', value: r => r.experiment },
      { title: 'model', value: r => r.model },
      { title: 'seed', value: r => r.seed, num: true },
      { title: 'epoch', value: r => r.epoch ? `${r.epoch} of ${r.epochs || '?'}` : 'starting' },
      {
        title: 'progress', value: r => r.progress === null ? `step ${r.step}`
          : el('span', {}, el('progress', { max: 1, value: r.progress }), ` ${Math.round(100 * r.progress)}%`),
      },
      { title: 'elapsed', value: r => duration(r.elapsed_s), num: true },
      { title: 'ETA', value: r => r.progress === null ? 'after the first epoch' : duration(r.eta_s), num: true },
      { title: 'loss', value: r => sig(r.loss), num: true },
      { title: 'val rSum', value: r => fmt(r.val_rsum), num: true },
      {
        title: 'heartbeat', value: r => r.stale
          ? el('span', { class: 'stale', title: 'its process may have died: the next sweep marks it interrupted' }, duration(r.heartbeat_age_s) + ' ago (stale)')
          : duration(r.heartbeat_age_s) + ' ago',
      },
    ], s.running);
    parts.push(t);
  }
  parts.push(el('p', {}, `${s.failed} failed and ${s.interrupted} interrupted runs in all` +
    (s.recent_failures.length ? '; the latest:' : '.')));
  if (s.recent_failures.length) {
    const t = el('table', { id: 'failures' });
    table(t, [
      { title: 'run', value: r => r.run_id, num: true },
      { title: 'experiment', value: r => r.experiment },
      { title: 'model', value: r => r.model },
      { title: 'seed', value: r => r.seed, num: true },
      { title: 'status', value: r => statusCell(r.status) },
      { title: 'when', value: r => when(r.finished_at), cls: () => 'nowrap' },
      { title: 'error', value: r => el('span', { title: r.error }, r.error), cls: () => 'error-text' },
    ], s.recent_failures);
    parts.push(t);
  }
  box.replaceChildren(...parts);
}

// ---- page: runs ----

async function runsPage(experiment, exps) {
  table(document.getElementById('experiments'), [
    { title: 'experiment', value: e => el('a', { href: '/?experiment=' + encodeURIComponent(e.name) }, e.name) },
    { title: 'runs', value: e => e.runs, num: true },
    { title: 'finished', value: e => e.status.finished || 0, num: true },
    { title: 'running', value: e => e.status.running || 0, num: true },
    { title: 'failed', value: e => e.status.failed || 0, num: true },
    { title: 'interrupted', value: e => e.status.interrupted || 0, num: true },
    { title: 'data sets', value: e => e.datasets.join(', ') },
    { title: 'last activity (UTC)', value: e => when(e.last_activity) },
  ], exps.experiments);
  if (!experiment) return;
  const d = await api('runs', { experiment });
  if (d.runs.length === 0) {
    document.getElementById('seeds-box').replaceWith(el('p', {}, 'No run of this experiment has started yet.'));
    return;
  }
  const metricSelect = document.getElementById('seed-metric');
  let chart = seedsChart(d, metricSelect.value);
  metricSelect.addEventListener('change', () => {
    chart.destroy();
    chart = seedsChart(d, metricSelect.value);
  });

  const perSeed = (c, key) => c.seeds.map(s => `${s.seed}: ${fmt(s[key])}${s.not_converged ? ' ‡' : ''}`).join(', ');
  table(document.getElementById('configs'), [
    { title: 'configuration', value: c => c.label },
    { title: 'seeds', value: c => c.seeds.length, num: true },
    { title: 'test rSum', value: c => meanSD(c.rsum), num: true },
    { title: 'per seed', value: c => perSeed(c, 'rsum') },
    { title: 'val rSum', value: c => meanSD(c.val_rsum), num: true },
    { title: 'runs', value: c => c.runs.join(', ') },
  ], d.configs, c => ({ 'data-config': c.id }));

  const label = r => d.configs[r.config].label;
  table(document.getElementById('runs'), [
    { title: 'run', value: r => r.run_id, num: true },
    { title: 'configuration', value: label },
    { title: 'seed', value: r => r.seed, num: true },
    { title: 'status', value: r => statusCell(r.status) },
    { title: 'test rSum', value: r => fmt(r.rsum), num: true },
    { title: 'val rSum', value: r => fmt(r.val_rsum), num: true },
    { title: 'interactions', value: r => sig(r.interactions), num: true },
    { title: 'query ms', value: r => sig(r.query_ms), num: true },
    { title: 'train', value: r => duration(r.train_seconds), num: true },
    { title: 'started (UTC)', value: r => when(r.started_at), cls: () => 'nowrap' },
    { title: 'error', value: r => el('span', { title: r.error || '' }, r.error || ''), cls: () => 'error-text' },
  ], d.runs, r => ({ 'data-run': r.run_id, onclick: () => diffPanel.choose(r.run_id) }));
}

// seedsChart draws a row per configuration and a dot per finished seed.
function seedsChart(d, key) {
  const labels = d.configs.map(c => c.label);
  const dots = [];
  for (const c of d.configs) {
    for (const s of c.seeds) {
      if (s[key] !== null) dots.push({ x: s[key], y: c.id, run: s.run_id, seed: s.seed, nc: s.not_converged, model: c.model });
    }
  }
  const stat = key === 'rsum' ? 'rsum' : 'val_rsum';
  const means = d.configs.filter(c => c.seeds.length > 0 && c[stat].mean !== null)
    .map(c => ({ x: c[stat].mean, y: c.id, sd: c[stat].sd, n: c[stat].n }));
  document.getElementById('seeds-box').style.height = (80 + 30 * labels.length) + 'px';
  const metricName = key === 'rsum' ? 'test rSum' : 'validation rSum';
  return new Chart(document.getElementById('seeds-chart'), {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: 'seeds', data: dots, pointRadius: 5, pointHoverRadius: 7,
          pointBackgroundColor: dots.map(p => p.nc ? 'rgba(0,0,0,0)' : withAlpha(colourOf(p.model), 0.75)),
          pointBorderColor: dots.map(p => p.nc ? '#b3261e' : colourOf(p.model)),
          pointBorderWidth: dots.map(p => p.nc ? 2 : 1),
        },
        {
          label: 'mean over seeds', data: means, pointStyle: 'line', rotation: 90, pointRadius: 10,
          pointHoverRadius: 12, borderColor: '#1d2330', backgroundColor: '#1d2330', pointBorderWidth: 2,
        },
      ],
    },
    options: {
      scales: {
        x: { title: { display: true, text: metricName } },
        y: {
          min: -0.5, max: labels.length - 0.5, reverse: true, grid: { display: false },
          afterBuildTicks: axis => { axis.ticks = labels.map((_, i) => ({ value: i })); },
          ticks: { autoSkip: false, callback: v => labels[v] ?? '' },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: items => labels[items[0].raw.y],
            label: item => item.datasetIndex === 0
              ? `run ${item.raw.run}, seed ${item.raw.seed}: ${fmt(item.raw.x)}${item.raw.nc ? ' (not converged)' : ''}`
              : `mean ${fmt(item.raw.x)} ± ${fmt(item.raw.sd)} over ${item.raw.n} seeds`,
          },
        },
      },
      onClick: (_, elements, chart) => {
        const hit = elements.find(e => e.datasetIndex === 0);
        if (hit) diffPanel.choose(chart.data.datasets[0].data[hit.index].run);
      },
    },
  });
}

// ---- page: accuracy against cost ----

async function costPage(experiment) {
  if (!experiment) return;
  const d = await api('cost', { experiment });
  const box = document.getElementById('cost-charts');
  box.replaceChildren();
  for (const axis of d.axes) {
    const canvas = el('canvas', { id: 'cost-' + axis.key });
    box.append(el('div', { class: 'card' }, el('h3', {}, axis.label), el('div', { class: 'chart' }, canvas)));
    if (axis.points.length === 0) {
      canvas.parentNode.replaceWith(el('p', { class: 'hint' }, 'No finished run of this experiment has this measure.'));
      continue;
    }
    const byModel = new Map();
    for (const p of axis.points) {
      if (!byModel.has(p.model)) byModel.set(p.model, []);
      byModel.get(p.model).push(p);
    }
    const byRun = new Map(axis.points.map(p => [p.run_id, p]));
    const datasets = [...byModel].map(([model, points]) => ({
      label: model, data: points, pointRadius: 5, pointHoverRadius: 8,
      borderColor: colourOf(model), backgroundColor: withAlpha(colourOf(model), 0.7),
    }));
    datasets.push({
      label: 'Pareto front', data: axis.front.map(id => byRun.get(id)), showLine: true,
      borderColor: '#1d2330', borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHitRadius: 0, fill: false,
    });
    // A log scale spreads costs over orders of magnitude (0.3 to 66 ms);
    // it cannot show a cost of 0.
    const log = axis.points.every(p => p.x > 0);
    new Chart(canvas, {
      type: 'scatter',
      data: { datasets },
      options: {
        parsing: { xAxisKey: 'x', yAxisKey: 'y' },
        scales: {
          x: { type: log ? 'logarithmic' : 'linear', title: { display: true, text: axis.label }, ticks: log ? { callback: logTick } : {} },
          y: { title: { display: true, text: 'test rSum' } },
        },
        plugins: {
          tooltip: {
            filter: item => item.dataset.label !== 'Pareto front',
            callbacks: {
              title: items => `run ${items[0].raw.run_id}: ${items[0].raw.label}`,
              label: item => `seed ${item.raw.seed}: rSum ${fmt(item.raw.y)} at ${sig(item.raw.x)}`,
            },
          },
        },
        onClick: (_, elements, chart) => {
          const hit = elements.find(e => chart.data.datasets[e.datasetIndex].label !== 'Pareto front');
          if (hit) diffPanel.choose(chart.data.datasets[hit.datasetIndex].data[hit.index].run_id);
        },
      },
    });
  }
}

// ---- page: curves ----

// boundaryLines draws the dashed vertical lines of options.plugins.boundaries.
const boundaryLines = {
  id: 'boundaries',
  afterDatasetsDraw(chart, _, opts) {
    const { ctx, chartArea, scales } = chart;
    ctx.save();
    ctx.strokeStyle = '#5d6676';
    ctx.fillStyle = '#5d6676';
    ctx.setLineDash([4, 4]);
    ctx.font = '11px ' + Chart.defaults.font.family;
    for (const b of opts.lines || []) {
      const x = scales.x.getPixelForValue(b.x);
      if (x < chartArea.left || x > chartArea.right) continue;
      ctx.beginPath();
      ctx.moveTo(x, chartArea.top);
      ctx.lineTo(x, chartArea.bottom);
      ctx.stroke();
      ctx.fillText(b.label, x + 3, chartArea.top + 11);
    }
    ctx.restore();
  },
};

async function curvesPage(experiment) {
  if (!experiment) return;
  const d = await api('curves', { experiment });
  const box = document.getElementById('curves');
  if (d.configs.length === 0) {
    box.replaceChildren(el('p', {}, 'No finished or running run of this experiment has logged a step.'));
    return;
  }
  box.replaceChildren();
  for (const c of d.configs) {
    const canvas = el('canvas', { id: 'curves-' + c.config });
    box.append(el('div', { class: 'card', 'data-label': c.label.toLowerCase() },
      el('h3', {}, c.label),
      el('p', { class: 'hint' }, c.runs.length === 1 ? `1 seed (run ${c.runs[0]})` : `${c.runs.length} seeds (runs ${c.runs.join(', ')})`),
      el('div', { class: 'chart' }, canvas)));
    curvesChart(canvas, c);
  }
  document.getElementById('curves-filter').addEventListener('input', e => {
    const want = e.target.value.toLowerCase();
    for (const card of box.children) card.hidden = !card.dataset.label.includes(want);
  });
}

function curvesChart(canvas, c) {
  const pts = (band, key) => band.x.map((x, i) => ({ x, y: band[key][i] }));
  // The planned epochs span the axis, so that a running run shows how far
  // it has to go and where its decay will come.
  const lastX = Math.max(0, ...c.loss.x, ...c.val_rsum.x);
  const end = c.unit === 'epoch' && c.epochs !== null ? Math.max(c.epochs, lastX) : undefined;
  const blue = '#2a5db0';
  const orange = '#d9822b';
  const band = (label, data, colour, axis, fill) => ({
    label, data, yAxisID: axis, borderWidth: 0, pointRadius: 0, backgroundColor: withAlpha(colour, 0.2), fill,
  });
  return new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        band('loss lowest seed', pts(c.loss, 'lo'), blue, 'y', false),
        band('loss highest seed', pts(c.loss, 'hi'), blue, 'y', '-1'),
        { label: 'training loss', data: pts(c.loss, 'mean'), yAxisID: 'y', borderColor: blue, backgroundColor: blue, borderWidth: 1.5, pointRadius: 0 },
        band('val lowest seed', pts(c.val_rsum, 'lo'), orange, 'y2', false),
        band('val highest seed', pts(c.val_rsum, 'hi'), orange, 'y2', '-1'),
        { label: 'validation rSum', data: pts(c.val_rsum, 'mean'), yAxisID: 'y2', borderColor: orange, backgroundColor: orange, borderWidth: 1.5, pointRadius: 3 },
      ],
    },
    options: {
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: { type: 'linear', title: { display: true, text: c.unit === 'epoch' ? 'epochs trained' : 'step' }, min: 0, max: end },
        y: { position: 'left', title: { display: true, text: 'training loss' } },
        y2: { position: 'right', title: { display: true, text: 'validation rSum' }, grid: { drawOnChartArea: false } },
      },
      plugins: {
        legend: { labels: { filter: item => !item.text.includes('seed') } },
        tooltip: { filter: item => !item.dataset.label.includes('seed') },
        boundaries: { lines: c.boundaries },
      },
    },
    plugins: [boundaryLines],
  });
}

// ---- page: per-query drill-down ----

async function drillPage(experiment) {
  if (!experiment) return;
  const d = await api('runs', { experiment });
  const ranked = d.runs.filter(r => r.ranks_splits.includes('test'));
  const selA = document.getElementById('drill-a');
  const selB = document.getElementById('drill-b');
  if (ranked.length < 2) {
    document.getElementById('drill-summary').textContent =
      'This experiment has fewer than two runs with per-query test ranks to compare.';
    return;
  }
  for (const sel of [selA, selB]) {
    sel.replaceChildren(...ranked.map(r => el('option', { value: r.run_id },
      `${r.run_id}: ${d.configs[r.config].label}, seed ${r.seed} (rSum ${fmt(r.rsum)})`)));
  }
  // By default, the best run against the best of another configuration.
  const byRSum = [...ranked].sort((x, y) => (y.rsum ?? -1) - (x.rsum ?? -1));
  const a = query.get('a') || byRSum[0].run_id;
  const other = byRSum.find(r => r.config !== byRSum[0].config) || byRSum[1];
  selA.value = a;
  selB.value = query.get('b') || other.run_id;
  document.getElementById('drill-dir').value = query.get('dir') || 't2i';
  document.getElementById('drill-k').value = query.get('k') || '1';
  const controls = ['drill-a', 'drill-b', 'drill-dir', 'drill-k'].map(id => document.getElementById(id));
  let chart = null;
  const load = async () => {
    const p = { a: selA.value, b: selB.value, dir: controls[2].value, k: controls[3].value };
    const u = new URLSearchParams({ experiment, ...p });
    history.replaceState(null, '', '/drill?' + u);
    const r = await api('drill', p);
    if (chart) chart.destroy();
    chart = renderDrill(r);
  };
  for (const c of controls) c.addEventListener('change', () => load().catch(fail));
  await load();
}

function renderDrill(r) {
  const what = r.dir === 't2i' ? 'caption' : 'image';
  const target = r.dir === 't2i' ? 'image' : 'caption';
  const cond = r.k > 0 ? `ranks its correct ${target} in the top ${r.k}` : `ranks its correct ${target} better`;
  const only = r.k > 0 ? ' where the other does not' : ' than the other';
  document.getElementById('drill-summary').replaceChildren(
    `Of ${r.queries.toLocaleString('en-US')} ${what} queries, `,
    el('span', { class: 'chip a' }, `run ${r.a.run_id}`), ` ${cond} for ${r.a_wins.wins}${only}, and `,
    el('span', { class: 'chip b' }, `run ${r.b.run_id}`), ` for ${r.b_wins.wins}.`,
    r.k > 0 ? ` R@${r.k}: ${fmt(r.a_wins.recall)}% against ${fmt(r.b_wins.recall)}%.` : '');
  document.getElementById('drill-note').textContent = r.note;

  const groups = { a: [], b: [], none: [] };
  const won = (x, y) => r.k > 0 ? x <= r.k && y > r.k : x < y;
  r.ranks_a.forEach((ra, i) => {
    const rb = r.ranks_b[i];
    groups[won(ra, rb) ? 'a' : won(rb, ra) ? 'b' : 'none'].push({ x: ra, y: rb, q: i });
  });
  const chart = new Chart(document.getElementById('drill-chart'), {
    type: 'scatter',
    data: {
      datasets: [
        { label: `run ${r.a.run_id} wins`, data: groups.a, backgroundColor: withAlpha('#2a5db0', 0.6), pointRadius: 3 },
        { label: `run ${r.b.run_id} wins`, data: groups.b, backgroundColor: withAlpha('#e69500', 0.7), pointRadius: 3 },
        { label: 'neither', data: groups.none, backgroundColor: 'rgba(120,120,120,0.25)', pointRadius: 2 },
      ],
    },
    options: {
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: `rank under run ${r.a.run_id} (A)` }, ticks: { callback: logTick } },
        y: { type: 'logarithmic', title: { display: true, text: `rank under run ${r.b.run_id} (B)` }, ticks: { callback: logTick } },
      },
      plugins: {
        tooltip: { callbacks: { label: item => `${what} ${item.raw.q}: rank ${item.raw.x} under A, ${item.raw.y} under B` } },
      },
    },
  });

  const thumb = q => q.thumb ? el('img', { class: 'thumb', src: q.thumb, alt: `image ${q.image}` }) : null;
  const columns = [
    { title: what + ' #', value: q => q.query, num: true },
    r.dir === 't2i'
      ? { title: 'caption', value: q => q.text || `caption ${q.query}` }
      : { title: 'image', value: q => el('span', {}, thumb(q), `image ${q.query}`), cls: () => 'nowrap' },
    r.dir === 't2i'
      ? { title: 'its image', value: q => q.image >= 0 ? el('span', {}, thumb(q), `image ${q.image}`) : 'n/a', cls: () => 'nowrap' }
      : { title: 'its captions', value: q => el('span', { class: 'captions' }, (q.captions || []).join(' · ') || 'n/a') },
    { title: 'rank A', value: q => q.rank_a, num: true },
    { title: 'rank B', value: q => q.rank_b, num: true },
  ];
  for (const [side, run, key] of [['a', r.a, 'a_wins'], ['b', r.b, 'b_wins']]) {
    const w = r[key];
    document.getElementById(`${side}-wins-title`).replaceChildren(
      el('span', { class: 'chip ' + side }, side.toUpperCase()),
      ` run ${run.run_id} (${run.model}, seed ${run.seed}) wins ${w.wins}` + (w.top.length < w.wins ? `, the ${w.top.length} clearest:` : ':'));
    table(document.getElementById(`${side}-wins`), columns, w.top, q => ({ 'data-query': q.query }));
  }
  return chart;
}

// ---- start ----

const pages = { runs: runsPage, cost: costPage, curves: curvesPage, drill: drillPage };

async function main() {
  const exps = await api('experiments');
  const select = document.getElementById('experiment');
  select.replaceChildren(...exps.experiments.map(e => el('option', { value: e.name }, `${e.name} (${e.runs})`)));
  // The experiment a sweep works on now comes first.
  const experiment = query.get('experiment') || (exps.experiments[0] || {}).name || '';
  select.value = experiment;
  select.addEventListener('change', () => {
    location.search = '?' + new URLSearchParams({ experiment: select.value });
  });
  for (const a of document.querySelectorAll('header nav a')) {
    if (experiment) a.href = a.pathname + '?' + new URLSearchParams({ experiment });
    a.classList.toggle('active', a.dataset.page === page);
  }
  for (const n of document.querySelectorAll('.experiment-name')) n.textContent = experiment || '(no experiment)';
  await Promise.all([refreshStatus(), pages[page](experiment, exps)]);
  setInterval(() => refreshStatus().catch(fail), 5000);
  // How long the page took to load, fetch and draw, for the tests to report.
  performance.mark('dashboard-ready');
  document.body.dataset.ready = 'true';
}

main().catch(fail);
