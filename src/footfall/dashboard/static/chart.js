// The visitors/pageviews chart: inline SVG drawn from a timeseries answer, no library.
//
// Accessible twice over: the SVG is an image with a title and a one-line summary, and the
// same numbers are a table (`drawTable`), which screen readers and keyboard users can read
// cell by cell. Each bucket's column carries a native tooltip (`<title>`).

import { formatBucket, formatCount, formatTick } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 260;
const MARGIN = { top: 12, right: 14, bottom: 30, left: 46 };
let uid = 0;

function node(name, attributes = {}, parent = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (parent) parent.append(element);
  return element;
}

/** A round maximum for the y axis and its tick step (1, 2 or 5 times a power of ten). */
export function niceScale(max, ticks = 4) {
  if (max <= 0) return { max: ticks, step: 1 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const whole = Math.max(1, Math.round(step));
  return { max: whole * Math.ceil(max / whole), step: whole };
}

function linePath(points) {
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
}

/**
 * Draw `results` (the timeseries answer's rows) into `container`.
 * `series`: [{ key: 'visitors', label: 'Visitors' }, …]; the first is drawn as an area.
 */
export function drawChart(container, results, interval, series, caption) {
  const width = Math.max(280, Math.floor(container.clientWidth || 640));
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const count = results.length;
  const peak = Math.max(0, ...results.flatMap((row) => series.map((s) => row[s.key] || 0)));
  const scale = niceScale(peak);
  const x = (i) => MARGIN.left + (count > 1 ? (i * plotWidth) / (count - 1) : plotWidth / 2);
  const y = (value) => MARGIN.top + plotHeight - (value / scale.max) * plotHeight;

  uid += 1;
  const titleId = `chart-title-${uid}`;
  const descId = `chart-desc-${uid}`;
  const svg = node('svg', {
    class: 'chart-svg',
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: 'img',
    'aria-labelledby': `${titleId} ${descId}`,
  });
  node('title', { id: titleId }, svg).textContent = caption;
  const totals = series.map((s) => {
    const values = results.map((row) => row[s.key] || 0);
    return `${s.label}: highest ${formatCount(Math.max(0, ...values))}`;
  });
  node('desc', { id: descId }, svg).textContent =
    `${count} ${interval} buckets. ${totals.join('; ')}. The table below lists every value.`;

  // Grid and y axis.
  const grid = node('g', { class: 'chart-grid', 'aria-hidden': 'true' }, svg);
  for (let value = 0; value <= scale.max; value += scale.step) {
    node('line', { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }, grid);
    const label = node('text', { x: MARGIN.left - 8, y: y(value) + 4, 'text-anchor': 'end' }, grid);
    label.textContent = formatCount(value);
  }
  // X axis labels: as many as fit, evenly spaced.
  const room = Math.max(2, Math.floor(plotWidth / 80));
  const every = Math.max(1, Math.ceil(count / room));
  for (let i = 0; i < count; i += every) {
    const anchor = count === 1 ? 'middle' : i === 0 ? 'start' : 'middle';
    const label = node('text', { x: x(i), y: HEIGHT - 8, 'text-anchor': anchor }, grid);
    label.textContent = formatTick(results[i].date, interval);
  }

  // Series: the first as an area with its line, the others as lines.
  series.forEach((s, index) => {
    const points = results.map((row, i) => [x(i), y(row[s.key] || 0)]);
    if (!points.length) return;
    if (index === 0) {
      const base = y(0);
      const area = `${linePath(points)}L${points.at(-1)[0].toFixed(1)},${base}`
        + `L${points[0][0].toFixed(1)},${base}Z`;
      node('path', { d: area, class: `chart-area series-${index}`, 'aria-hidden': 'true' }, svg);
    }
    node('path', { d: linePath(points), class: `chart-line series-${index}`, 'aria-hidden': 'true' }, svg);
    if (count <= 62) {
      const dots = node('g', { class: `chart-dots series-${index}`, 'aria-hidden': 'true' }, svg);
      for (const [px, py] of points) node('circle', { cx: px, cy: py, r: 2.5 }, dots);
    }
  });

  // One hover column per bucket, with its numbers as a tooltip.
  const columns = node('g', { class: 'chart-columns' }, svg);
  const half = count > 1 ? plotWidth / (count - 1) / 2 : plotWidth / 2;
  results.forEach((row, i) => {
    const column = node('rect', {
      x: Math.max(MARGIN.left, x(i) - half),
      y: MARGIN.top,
      width: Math.min(x(i) + half, width - MARGIN.right) - Math.max(MARGIN.left, x(i) - half),
      height: plotHeight,
    }, columns);
    const values = series.map((s) => `${formatCount(row[s.key] || 0)} ${s.label.toLowerCase()}`);
    node('title', {}, column).textContent = `${formatBucket(row.date, interval)}: ${values.join(', ')}`;
  });

  const legend = document.createElement('ul');
  legend.className = 'chart-legend';
  series.forEach((s, index) => {
    const item = document.createElement('li');
    item.className = `series-${index}`;
    item.textContent = s.label;
    legend.append(item);
  });
  container.replaceChildren(svg, legend);
}

/** The same numbers as a table: one row per bucket (`data-bucket` holds the API's date). */
export function drawTable(container, results, interval, series, caption) {
  const table = document.createElement('table');
  table.className = 'table numbers';
  const captionNode = table.createCaption();
  captionNode.textContent = caption;
  const head = table.createTHead().insertRow();
  const first = document.createElement('th');
  first.scope = 'col';
  first.textContent = interval === 'minute' || interval === 'hour' ? 'Time' : 'Date';
  head.append(first);
  for (const s of series) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = s.label;
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of results) {
    const tr = body.insertRow();
    tr.dataset.bucket = row.date;
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = formatBucket(row.date, interval);
    tr.append(th);
    for (const s of series) {
      const td = tr.insertCell();
      td.dataset.metric = s.key;
      td.dataset.value = String(row[s.key] || 0);
      td.textContent = formatCount(row[s.key] || 0);
    }
  }
  container.replaceChildren(table);
}
