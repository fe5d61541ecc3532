// The site dashboard: reads the view from the URL, asks the stats endpoints (the Stats API's
// engine behind the session) and fills the page: top metrics with their change, the chart,
// the breakdown panels. Links that change the view (`a[data-nav]`: rows, chips, tabs,
// periods, intervals) are real links to the new URL; here they update the page in place and
// push the URL, so Back, reload, bookmarks and shared links all show the same view.

import { drawChart, drawTable } from './chart.js';
import { formatExact, formatMetric } from './format.js';
import {
  METRIC_LABELS, PANELS, activeTab, buildPanels, keyedTabKey, showKeyChoice, showRows, showTabs, ROWS,
} from './panels.js';
import {
  PERIODS, chosenInterval, filterLabel, hasGoalFilter, hrefOf, intervalsFor, isRealtime,
  periodLabel, rangeDays, readView, statsParams, withChanges, withoutFilter,
} from './view.js';

const root = document.querySelector('[data-dashboard]');

const TOP_METRICS = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'];
// With a goal filter the selected events are the goal's completions (see the Stats API).
const GOAL_METRICS = ['conversions', 'events', 'conversion_rate'];
const TILE_LABELS = { ...METRIC_LABELS, visitors: 'Unique visitors' };
const GOAL_LABELS = { conversions: 'Unique conversions', events: 'Total conversions' };
const LOWER_IS_BETTER = new Set(['bounce_rate']);
const CHART_SERIES = [
  { key: 'visitors', label: 'Visitors' },
  { key: 'pageviews', label: 'Pageviews' },
];
const GOAL_SERIES = [
  { key: 'visitors', label: 'Conversions' },
  { key: 'events', label: 'Completions' },
];
const INTERVAL_LABELS = { minute: 'Minutes', hour: 'Hours', day: 'Days', week: 'Weeks', month: 'Months' };

class Dashboard {
  constructor(element) {
    this.root = element;
    this.siteId = element.dataset.siteId;
    this.base = `/sites/${this.siteId}/stats`;
    this.refreshMs = Number(element.dataset.realtimeRefreshMs) || 30000;
    this.generation = 0;
    this.timer = null;
    this.pending = null;
    this.lastChart = null;
    this.el = {
      error: element.querySelector('[data-dash-error]'),
      metrics: element.querySelector('[data-metrics]'),
      chart: element.querySelector('[data-chart]'),
      chartTable: element.querySelector('[data-chart-table]'),
      chartTitle: element.querySelector('[data-chart-title]'),
      intervals: element.querySelector('[data-intervals]'),
      chips: element.querySelector('[data-chips]'),
      filterBar: element.querySelector('[data-filter-bar]'),
      clearFilters: element.querySelector('[data-clear-filters]'),
      periodMenu: element.querySelector('[data-period-menu]'),
      periodLabel: element.querySelector('[data-period-label]'),
      periodList: element.querySelector('[data-period-list]'),
      customRange: element.querySelector('[data-custom-range]'),
      realtimeNote: element.querySelector('[data-realtime-note]'),
    };
    this.panels = buildPanels(element.querySelector('[data-panels]'));
    this.listen();
  }

  // -- navigation ------------------------------------------------------------------------

  listen() {
    this.root.addEventListener('click', (event) => {
      const link = event.target.closest('a[data-nav]');
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      const place = this.placeOf(link);
      if (this.el.periodMenu.contains(link)) this.el.periodMenu.open = false;
      this.navigate(link.getAttribute('href'));
      this.refocus(place);
    });
    window.addEventListener('popstate', () => this.load());
    this.el.customRange.addEventListener('submit', (event) => {
      event.preventDefault();
      const form = new FormData(this.el.customRange);
      let [first, last] = [form.get('from'), form.get('to')];
      if (!first || !last) return;
      if (first > last) [first, last] = [last, first];
      this.el.periodMenu.open = false;
      this.navigate(hrefOf(withChanges(this.view, { period: 'custom', date: `${first},${last}`, interval: null })));
      this.refocus({ period: true });
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.el.periodMenu.open) {
        this.el.periodMenu.open = false;
        this.el.periodMenu.querySelector('summary').focus();
      }
    });
    document.addEventListener('click', (event) => {
      if (this.el.periodMenu.open && !this.el.periodMenu.contains(event.target)) this.el.periodMenu.open = false;
    });
    // The live header says when the count moved: the realtime view then reloads its numbers.
    document.addEventListener('footfall:live', (event) => {
      if (event.detail.websiteId === this.siteId && isRealtime(this.view)) this.soon();
    });
    let width = this.el.chart.clientWidth;
    new ResizeObserver(() => {
      if (this.lastChart && Math.abs(this.el.chart.clientWidth - width) > 24) {
        width = this.el.chart.clientWidth;
        this.drawChart(...this.lastChart);
      }
    }).observe(this.el.chart);
  }

  /** Where a link sits, to put the focus back near it once the page is redrawn (the link
   * itself is replaced): keyboard users keep their place. */
  placeOf(link) {
    const panel = link.closest('[data-panel]');
    if (panel && link.closest('.tab-links')) return { panel: panel.dataset.panel };
    if (panel) return { row: true };
    if (this.el.intervals.contains(link)) return { intervals: true };
    if (this.el.filterBar.contains(link)) return { chips: true };
    return { period: true };
  }

  refocus(place) {
    const last = (list) => list[list.length - 1];
    let target = null;
    if (place.choice) {
      target = this.panels[place.choice].choices.querySelector('select');
      if (!target) {
        // A picker the panel fills once its answer is in (property keys): focused then.
        this.focusChoice = place.choice;
        return;
      }
    } else if (place.panel) target = this.panels[place.panel].tabs.querySelector('[aria-current]');
    else if (place.intervals) target = this.el.intervals.querySelector('[aria-current]');
    else if (place.row) target = last(this.el.chips.querySelectorAll('.chip-remove'));
    else if (place.chips) target = this.el.chips.querySelector('.chip-remove');
    (target || this.el.periodMenu.querySelector('summary')).focus();
  }

  navigate(href) {
    const url = new URL(href, window.location.href);
    window.history.pushState(null, '', url.pathname + url.search);
    this.load();
  }

  onChoice(panelKey, tabKey) {
    this.navigate(hrefOf(withChanges(this.view, { tabs: { [panelKey]: tabKey } })));
    this.refocus({ choice: panelKey });
  }

  /** Reload the realtime numbers shortly (pageviews often come in bursts). */
  soon() {
    if (this.pending) return;
    this.pending = window.setTimeout(() => {
      this.pending = null;
      this.load({ quiet: true });
    }, 1000);
  }

  // -- loading ---------------------------------------------------------------------------

  async fetchJson(kind, params) {
    const response = await fetch(`${this.base}/${kind}?${params}`, {
      headers: { Accept: 'application/json' },
      cache: 'no-store',
    });
    if (response.status === 401) {
      window.location.reload(); // signed out meanwhile: the page leads to sign-in
      throw new Error('Signed out');
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `The server answered ${response.status}.`);
    return body;
  }

  /** Show the view of the current URL. `quiet`: a background refresh (keep what is shown). */
  load({ quiet = false } = {}) {
    const view = readView(window.location.search);
    this.view = view;
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    if (!quiet) this.showControls(view); // a refresh leaves the controls (and focus) alone
    this.el.error.hidden = true;
    const failed = (error) => {
      if (!current()) return;
      this.el.error.textContent = `Could not load the numbers: ${error.message}`;
      this.el.error.hidden = false;
    };
    if (!quiet) {
      this.root.classList.add('is-loading');
      delete this.root.dataset.loaded;
    }

    // A part that could not be loaded is emptied: the previous view's numbers must not stay
    // under this view's controls. A background refresh of the same view keeps them.
    const emptied = (...elements) => (error) => {
      if (!quiet && current()) {
        for (const element of elements) element.replaceChildren();
      }
      throw error;
    };
    const metrics = hasGoalFilter(view) ? GOAL_METRICS : TOP_METRICS;
    const aggregate = this.fetchJson('aggregate', statsParams(view, { metrics: metrics.join(','), compare: 'previous_period' }))
      .then((answer) => { if (current()) this.showMetrics(view, metrics, answer); })
      .catch(emptied(this.el.metrics));
    const interval = chosenInterval(view);
    const series = hasGoalFilter(view) ? GOAL_SERIES : CHART_SERIES;
    const timeseries = this.fetchJson('timeseries', statsParams(view, { metrics: series.map((s) => s.key).join(','), interval }))
      .then((answer) => {
        if (!current()) return;
        this.lastChart = [view, answer];
        this.drawChart(view, answer);
      })
      .catch((error) => {
        if (!quiet && current()) this.lastChart = null; // nothing to redraw on a resize
        return emptied(this.el.chart, this.el.chartTable)(error);
      });
    const panels = PANELS.map((panel) => {
      const frame = this.panels[panel.key];
      return this.loadPanel(view, panel, current).catch((error) => {
        if (!quiet && current()) frame.csv.removeAttribute('href'); // not the previous view's CSV
        return emptied(frame.body)(error);
      });
    });
    Promise.allSettled([aggregate, timeseries, ...panels]).then((outcomes) => {
      if (!current()) return;
      this.root.classList.remove('is-loading');
      const rejected = outcomes.find((o) => o.status === 'rejected');
      if (rejected) failed(rejected.reason);
      this.root.dataset.loaded = hrefOf(view); // what is shown, for tests and scripts
    });

    window.clearTimeout(this.timer);
    if (isRealtime(view)) {
      this.timer = window.setTimeout(() => this.load({ quiet: true }), this.refreshMs);
    }
  }

  loadPanel(view, panel, current) {
    const frame = this.panels[panel.key];
    const tab = activeTab(panel, view);
    if (tab.keyed) return this.loadKeyedPanel(view, panel, tab, current);
    return this.loadBreakdown(view, frame, tab, current);
  }

  /** A keyed tab (custom properties): the range's keys, then the chosen key's breakdown
   * (the first key when the URL names none). */
  loadKeyedPanel(view, panel, tab, current) {
    const frame = this.panels[panel.key];
    const range = new URLSearchParams({ period: view.period });
    if (view.date) range.set('date', view.date);
    return this.fetchJson('property-keys', range).then((answer) => {
      if (!current()) return null;
      const keys = answer.results;
      const chosen = tab.propKey || keys[0] || null;
      const select = showKeyChoice(frame, keys, chosen, (key) => this.onChoice(panel.key, keyedTabKey(tab, key)));
      if (select && this.focusChoice === panel.key) {
        this.focusChoice = null;
        select.focus();
      }
      if (!chosen) {
        showRows(frame, view, { ...tab, empty: tab.none }, { results: [] }, null, tab.label);
        return null;
      }
      return this.loadBreakdown(view, frame, { ...tab, propKey: chosen, property: tab.keyed + chosen }, current);
    });
  }

  loadBreakdown(view, frame, tab, current) {
    const metrics = tab.metrics.join(',');
    const params = statsParams(view, { property: tab.property, metrics, limit: ROWS }, tab.filters || []);
    const csv = statsParams(view, { property: tab.property, metrics, limit: 1000 }, tab.filters || []);
    return this.fetchJson('breakdown', params).then((answer) => {
      if (!current()) return;
      showRows(frame, view, tab, answer, `${this.base}/breakdown.csv?${csv}`, `${tab.label}, ${periodLabel(view)}`);
    });
  }

  // -- showing ---------------------------------------------------------------------------

  showControls(view) {
    const realtime = isRealtime(view);
    this.el.realtimeNote.hidden = !realtime;
    this.root.classList.toggle('is-realtime', realtime);
    this.el.periodLabel.textContent = periodLabel(view);
    this.el.periodList.replaceChildren(...PERIODS.map((period) => {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.dataset.nav = '';
      link.textContent = period.title || period.label;
      link.href = hrefOf(withChanges(view, { period: period.key, date: null, interval: null }));
      if (period.key === view.period) link.setAttribute('aria-current', 'true');
      item.append(link);
      return item;
    }));
    const today = this.root.dataset.today;
    const [from, to] = view.period === 'custom' && view.date ? view.date.split(',') : [daysBefore(today, 6), today];
    for (const [name, value] of [['from', from], ['to', to]]) {
      const input = this.el.customRange.elements[name];
      input.value = value || '';
      input.max = today;
    }
    for (const frame of Object.values(this.panels)) {
      showTabs(frame, view, (key, value) => this.onChoice(key, value));
    }
    // Filter chips: each removes its filter.
    this.el.filterBar.hidden = view.filters.length === 0;
    this.el.clearFilters.href = hrefOf(withChanges(view, { filters: [] }));
    this.el.chips.replaceChildren(...view.filters.map((filter, index) => {
      const item = document.createElement('li');
      item.className = 'chip';
      const text = document.createElement('span');
      text.textContent = filterLabel(filter);
      const remove = document.createElement('a');
      remove.dataset.nav = '';
      remove.className = 'chip-remove';
      remove.href = hrefOf(withoutFilter(view, index));
      remove.setAttribute('aria-label', `Remove filter: ${filterLabel(filter)}`);
      remove.textContent = '×';
      item.append(text, remove);
      return item;
    }));
    // Interval switch: the intervals that suit the range.
    const chosen = chosenInterval(view);
    const options = intervalsFor(rangeDays(view));
    this.el.intervals.hidden = options.length < 2;
    this.el.intervals.replaceChildren(...options.map((interval) => {
      const link = document.createElement('a');
      link.dataset.nav = '';
      link.textContent = INTERVAL_LABELS[interval];
      link.href = hrefOf(withChanges(view, { interval }));
      if (interval === chosen) link.setAttribute('aria-current', 'true');
      return link;
    }));
  }

  showMetrics(view, metrics, answer) {
    const realtime = isRealtime(view);
    const tiles = metrics.map((metric) => {
      const { value, change } = answer.results[metric];
      const tile = document.createElement('div');
      tile.className = 'metric';
      tile.dataset.metric = metric;
      tile.dataset.value = String(value);
      const label = document.createElement('span');
      label.className = 'metric-label';
      label.textContent = (hasGoalFilter(view) && GOAL_LABELS[metric]) || TILE_LABELS[metric];
      const shown = document.createElement('span');
      shown.className = 'metric-value';
      shown.textContent = formatMetric(metric, value);
      shown.title = formatExact(value);
      tile.append(label, shown, changeBadge(metric, change, realtime));
      return tile;
    });
    this.el.metrics.replaceChildren(...tiles);
    this.el.metrics.setAttribute('aria-busy', 'false');
  }

  drawChart(view, answer) {
    const goal = hasGoalFilter(view);
    const series = goal ? GOAL_SERIES : CHART_SERIES;
    let title = goal ? 'Conversions' : 'Visitors and pageviews';
    if (isRealtime(view)) title += ', last 30 minutes';
    this.el.chartTitle.textContent = title;
    const caption = `${title} by ${answer.interval}, ${periodLabel(view)}`;
    drawChart(this.el.chart, answer.results, answer.interval, series, caption);
    drawTable(this.el.chartTable, answer.results, answer.interval, series, caption);
    this.el.chart.setAttribute('aria-busy', 'false');
  }
}

/** "▲ 12%" against the previous period; for the bounce rate, down is the good direction. */
function changeBadge(metric, change, realtime) {
  const badge = document.createElement('span');
  badge.className = 'metric-change';
  const versus = realtime ? 'the 30 minutes before' : 'the previous period';
  if (change === null || change === undefined) {
    badge.textContent = '–';
    badge.title = `Nothing to compare with in ${versus}`;
    badge.classList.add('flat');
    return badge;
  }
  const good = LOWER_IS_BETTER.has(metric) ? change < 0 : change > 0;
  badge.classList.add(change === 0 ? 'flat' : good ? 'good' : 'bad');
  const arrow = change > 0 ? '▲' : change < 0 ? '▼' : '';
  const visible = document.createElement('span');
  visible.setAttribute('aria-hidden', 'true');
  visible.textContent = `${arrow} ${Math.abs(change)}%`.trim();
  const spoken = document.createElement('span');
  spoken.className = 'visually-hidden';
  spoken.textContent = change === 0 ? `unchanged from ${versus}`
    : `${change > 0 ? 'up' : 'down'} ${Math.abs(change)}% from ${versus}`;
  badge.title = `Compared with ${versus}`;
  badge.append(visible, spoken);
  return badge;
}

function daysBefore(day, count) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - count);
  return date.toISOString().slice(0, 10);
}

if (root) {
  const dashboard = new Dashboard(root);
  dashboard.load();
}
