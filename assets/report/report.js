// loadbuild report page: reads the JSON embedded in #report-data and draws, with Apache ECharts
// (embedded above this script), a verdict heatmap over a pair of dimensions, a filterable table of
// cells, and for the chosen cell the distributions against the baseline and the trend over history.
// No network: everything the page needs is in the page.
(function () {
  'use strict';
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message || e));
    document.documentElement.setAttribute('data-errors', String(errors.length));
    var box = document.getElementById('errors');
    if (box) { box.hidden = false; box.textContent = 'Page errors: ' + errors.join('; '); }
  });

  var data = JSON.parse(document.getElementById('report-data').textContent);
  var R = data;
  var STATUS = ['failed', 'regression', 'guard', 'inconclusive', 'new', 'improvement', 'unchanged', 'skipped'];
  var COLOR = {
    failed: '#6a1b9a', regression: '#c62828', guard: '#ef6c00', inconclusive: '#f9a825',
    'new': '#78909c', improvement: '#2e7d32', unchanged: '#a5d6a7', skipped: '#e0e0e0'
  };
  var drawn = {};
  function markDrawn(name) {
    drawn[name] = true;
    document.documentElement.setAttribute('data-charts', Object.keys(drawn).sort().join(','));
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function pct(x) { return x === null || x === undefined ? '–' : (x >= 0 ? '+' : '') + (x * 100).toFixed(1) + '%'; }
  function num(x) {
    if (x === null || x === undefined) { return '–'; }
    var a = Math.abs(x);
    return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? x.toExponential(3) : String(Math.round(x * 1e4) / 1e4);
  }
  function pval(p) { return p === null || p === undefined ? '–' : (p < 1e-4 ? p.toExponential(1) : p.toFixed(4)); }
  function rank(s) { return STATUS.indexOf(s); }
  function decisive(c) {
    var want = { regression: 'regression', inconclusive: 'inconclusive', improvement: 'improvement' }[c.status];
    var best = null;
    c.metrics.forEach(function (m) {
      if (want && m.verdict === want && (!best || Math.abs(m.relative_change || 0) > Math.abs(best.relative_change || 0))) { best = m; }
    });
    if (!best) { c.metrics.forEach(function (m) { if (!best && m.relative_change !== null && m.relative_change !== undefined) { best = m; } }); }
    return best;
  }

  // ---- heatmap ----------------------------------------------------------------------------
  var dims = R.dimensions;
  var varying = dims.map(function (d, i) { return i; }).filter(function (i) { return dims[i].values.length > 1; });
  if (varying.length === 0) { varying = dims.map(function (d, i) { return i; }); }
  var bySize = varying.slice().sort(function (a, b) { return dims[b].values.length - dims[a].values.length || a - b; });
  var pick = { x: bySize[0], y: bySize.length > 1 ? bySize[1] : bySize[0] };
  var filter = { text: '', status: '', dims: {} };
  var heat = null;

  function fillSelect(sel, chosen) {
    sel.innerHTML = '';
    dims.forEach(function (d, i) {
      var o = el('option', { value: String(i) }, d.name);
      if (i === chosen) { o.selected = true; }
      sel.appendChild(o);
    });
  }
  function drawHeatmap() {
    var xd = dims[pick.x], yd = dims[pick.y];
    var buckets = {};
    R.cells.forEach(function (c) {
      var key = c.dims[xd.name] + '\u0000' + c.dims[yd.name];
      var b = buckets[key] || (buckets[key] = { worst: null, counts: {} });
      b.counts[c.status] = (b.counts[c.status] || 0) + 1;
      var r = rank(c.status);
      // A skipped cell only colours a square when every cell in it is skipped.
      if (c.status !== 'skipped' && (b.worst === null || r < rank(b.worst))) { b.worst = c.status; }
    });
    var points = [];
    xd.values.forEach(function (xv, xi) {
      yd.values.forEach(function (yv, yi) {
        var b = buckets[xv + '\u0000' + yv];
        if (b) { points.push([xi, yi, rank(b.worst || 'skipped'), b.counts]); }
      });
    });
    if (!heat) { heat = echarts.init(document.getElementById('heatmap')); heat.on('click', function (p) {
      filter.dims = {};
      filter.dims[xd.name] = xd.values[p.data[0]];
      filter.dims[yd.name] = yd.values[p.data[1]];
      drawDimFilters(); drawTable();
    }); }
    heat.setOption({
      animation: false,
      tooltip: {
        formatter: function (p) {
          var counts = p.data[3];
          var lines = STATUS.filter(function (s) { return counts[s]; }).map(function (s) { return s + ': ' + counts[s]; });
          return xd.name + ' = ' + xd.values[p.data[0]] + ', ' + yd.name + ' = ' + yd.values[p.data[1]] + '<br>' + lines.join('<br>');
        }
      },
      grid: { left: 110, right: 20, top: 10, bottom: 70 },
      xAxis: { type: 'category', data: xd.values, name: xd.name, nameLocation: 'middle', nameGap: 30, splitArea: { show: true } },
      yAxis: { type: 'category', data: yd.values, name: yd.name, nameLocation: 'end', splitArea: { show: true } },
      visualMap: {
        type: 'piecewise', dimension: 2, orient: 'horizontal', left: 'center', bottom: 0,
        pieces: STATUS.map(function (s, i) { return { value: i, label: s, color: COLOR[s] }; })
      },
      series: [{ type: 'heatmap', data: points, label: { show: true, formatter: function (p) { return STATUS[p.data[2]]; } } }]
    }, true);
    markDrawn('heatmap');
  }

  // ---- table ------------------------------------------------------------------------------
  function matches(c) {
    if (filter.status && c.status !== filter.status) { return false; }
    for (var d in filter.dims) { if (filter.dims[d] && c.dims[d] !== filter.dims[d]) { return false; } }
    if (filter.text) {
      var hay = (c.id + ' ' + c.name + ' ' + (c.reason || '')).toLowerCase();
      if (hay.indexOf(filter.text) < 0) { return false; }
    }
    return true;
  }
  function drawDimFilters() {
    var box = document.getElementById('dim-filters');
    box.innerHTML = '';
    dims.forEach(function (d) {
      var sel = el('select', { 'data-dim': d.name, 'aria-label': d.name });
      sel.appendChild(el('option', { value: '' }, d.name + ': all'));
      d.values.forEach(function (v) {
        var o = el('option', { value: v }, d.name + ' = ' + v);
        if (filter.dims[d.name] === v) { o.selected = true; }
        sel.appendChild(o);
      });
      sel.addEventListener('change', function () { filter.dims[d.name] = sel.value; drawTable(); });
      box.appendChild(sel);
    });
  }
  function drawTable() {
    var body = document.getElementById('cells-body');
    body.innerHTML = '';
    var rows = R.cells.filter(matches).sort(function (a, b) { return rank(a.status) - rank(b.status) || (a.id < b.id ? -1 : 1); });
    rows.forEach(function (c) {
      var m = decisive(c);
      var tr = el('tr', { 'data-cell': c.id, 'class': 'st-' + c.status });
      tr.appendChild(el('td', null, c.id));
      var st = el('td'); st.appendChild(el('span', { 'class': 'badge', style: 'background:' + COLOR[c.status] }, c.status)); tr.appendChild(st);
      tr.appendChild(el('td', null, m ? m.name : '–'));
      tr.appendChild(el('td', { 'class': 'num' }, m ? pct(m.relative_change) : '–'));
      tr.appendChild(el('td', { 'class': 'num' }, m && m.ci ? pct(m.ci[0]) + ' … ' + pct(m.ci[1]) : '–'));
      tr.appendChild(el('td', { 'class': 'num' }, m ? pval(m.adjusted_p) : '–'));
      tr.appendChild(el('td', null, (c.reason || '').replace(/`/g, '')));
      tr.addEventListener('click', function () { showCell(c); });
      body.appendChild(tr);
    });
    document.getElementById('shown').textContent = rows.length + ' of ' + R.cells.length + ' cells';
  }

  // ---- one cell ---------------------------------------------------------------------------
  var detailCharts = [];
  function showCell(c) {
    detailCharts.forEach(function (ch) { ch.dispose(); });
    detailCharts = [];
    var box = document.getElementById('detail');
    box.innerHTML = '';
    box.appendChild(el('h2', null, c.id + ' — ' + c.status));
    box.appendChild(el('p', null, c.name + (c.reason ? ' · ' + c.reason.replace(/`/g, '') : '')));
    c.environment_notes.forEach(function (n) { box.appendChild(el('p', { 'class': 'note' }, n.replace(/`/g, ''))); });
    c.metrics.forEach(function (m) {
      var row = el('div', { 'class': 'metric' });
      row.appendChild(el('h3', null, m.name + ' (' + (m.unit || '') + ', ' + m.direction.replace(/_/g, ' ') + '): ' + m.verdict +
        (m.relative_change !== null && m.relative_change !== undefined ? ' ' + pct(m.relative_change) : '') +
        (m.reason ? ' — ' + m.reason.replace(/`/g, '') : '')));
      var charts = el('div', { 'class': 'charts' });
      var dist = el('div', { 'class': 'chart' });
      var trend = el('div', { 'class': 'chart' });
      charts.appendChild(dist); charts.appendChild(trend); row.appendChild(charts); box.appendChild(row);
      drawDistribution(dist, m);
      drawTrend(trend, m, m.series || []);
    });
  }
  function quartiles(xs) {
    var s = xs.slice().sort(function (a, b) { return a - b; });
    function q(p) { var h = (s.length - 1) * p, lo = Math.floor(h), hi = Math.min(lo + 1, s.length - 1); return s[lo] + (h - lo) * (s[hi] - s[lo]); }
    return [s[0], q(0.25), q(0.5), q(0.75), s[s.length - 1]];
  }
  function drawDistribution(node, m) {
    var chart = echarts.init(node);
    detailCharts.push(chart);
    var names = [], boxes = [], dots = [];
    if (m.baseline) { names.push('baseline'); boxes.push(quartiles(m.baseline.samples)); m.baseline.samples.forEach(function (v) { dots.push([0, v]); }); }
    if (m.samples.length) { var i = names.length; names.push('this run'); boxes.push(quartiles(m.samples)); m.samples.forEach(function (v) { dots.push([i, v]); }); }
    chart.setOption({
      animation: false,
      title: { text: 'samples against the baseline', textStyle: { fontSize: 12 } },
      tooltip: { trigger: 'item' },
      grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: names },
      yAxis: { type: 'value', name: m.unit, scale: true },
      series: [
        { name: 'quartiles', type: 'boxplot', data: boxes },
        { name: 'samples', type: 'scatter', data: dots, symbolSize: 7, itemStyle: { color: '#37474f' } }
      ]
    });
    markDrawn('distribution');
  }
  function drawTrend(node, m, series) {
    var chart = echarts.init(node);
    detailCharts.push(chart);
    var labels = series.map(function (p) {
      if (p[0] === null) { return 'this'; }
      var h = R.history.runs[p[0]];
      return h ? h.recorded_at.slice(0, 16).replace('T', ' ') : String(p[0]);
    });
    var marks = ((m.trend && m.trend.change_points) || []).map(function (cp) {
      var at = cp.run === 'this' ? labels.length - 1 : series.findIndex(function (p) { return p[0] !== null && R.history.runs[p[0]].run === cp.run; });
      return { xAxis: at < 0 ? 0 : at, label: { formatter: 'shift ' + pct(cp.relative_change) + (cp.commit ? ' @' + cp.commit.slice(0, 8) : '') } };
    });
    chart.setOption({
      animation: false,
      title: { text: series.length ? 'median per run (' + ((m.trend && m.trend.direction) || 'too few runs for a trend') + ')' : 'no history yet', textStyle: { fontSize: 12 } },
      tooltip: { trigger: 'axis' },
      grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: labels },
      yAxis: { type: 'value', name: m.unit, scale: true },
      series: [{ name: m.name, type: 'line', data: series.map(function (p) { return p[1]; }), markLine: { symbol: 'none', data: marks } }]
    });
    markDrawn('trend');
  }

  // ---- wiring -----------------------------------------------------------------------------
  var xs = document.getElementById('heat-x'), ys = document.getElementById('heat-y');
  fillSelect(xs, pick.x); fillSelect(ys, pick.y);
  xs.addEventListener('change', function () { pick.x = Number(xs.value); drawHeatmap(); });
  ys.addEventListener('change', function () { pick.y = Number(ys.value); drawHeatmap(); });
  var statusSel = document.getElementById('status-filter');
  STATUS.forEach(function (s) { statusSel.appendChild(el('option', { value: s }, s + ' (' + R.cells.filter(function (c) { return c.status === s; }).length + ')')); });
  statusSel.addEventListener('change', function () { filter.status = statusSel.value; drawTable(); });
  document.getElementById('text-filter').addEventListener('input', function (e) { filter.text = e.target.value.toLowerCase(); drawTable(); });
  document.getElementById('clear-filters').addEventListener('click', function () {
    filter = { text: '', status: '', dims: {} };
    statusSel.value = ''; document.getElementById('text-filter').value = '';
    drawDimFilters(); drawTable();
  });
  window.addEventListener('resize', function () { if (heat) { heat.resize(); } detailCharts.forEach(function (c) { c.resize(); }); });
  drawHeatmap();
  drawDimFilters();
  drawTable();
  // Show the worst measured cell at once, so its distributions and trend are on screen.
  var first = R.cells.filter(function (c) { return c.metrics.length > 0; })
    .sort(function (a, b) { return rank(a.status) - rank(b.status); })[0];
  if (first) { showCell(first); }
  document.documentElement.setAttribute('data-ready', 'true');
})();
