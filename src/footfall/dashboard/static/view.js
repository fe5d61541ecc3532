// The dashboard's view, kept in the URL's query string so it can be bookmarked, shared and
// reloaded: the Stats API's own parameters (period, date, filters, interval) plus the tab
// each panel shows. Values go to the server as they are; it validates them and names a bad
// one in its answer, which the page shows.

export const PERIODS = [
  { key: '30m', label: 'Realtime', title: 'Realtime (last 30 minutes)' },
  { key: 'today', label: 'Today' },
  { key: '24h', label: 'Last 24 hours' },
  { key: '7d', label: 'Last 7 days' },
  { key: '30d', label: 'Last 30 days' },
  { key: 'month', label: 'Month to date' },
  { key: 'last_month', label: 'Last month' },
  { key: '12mo', label: 'Last 12 months' },
];
export const DEFAULT_PERIOD = '30d'; // the Stats API's default: no parameter, same answer
export const REALTIME = '30m';
export const TAB_KEYS = ['sources', 'pages', 'locations', 'devices', 'conversions'];

const DIMENSION_LABELS = {
  'event:page': 'Page',
  'event:hostname': 'Hostname',
  'event:name': 'Event',
  'event:goal': 'Goal',
  'visit:entry_page': 'Entry page',
  'visit:exit_page': 'Exit page',
  'visit:source': 'Source',
  'visit:referrer': 'Referrer',
  'visit:utm_source': 'UTM source',
  'visit:utm_medium': 'UTM medium',
  'visit:utm_campaign': 'UTM campaign',
  'visit:utm_term': 'UTM term',
  'visit:utm_content': 'UTM content',
  'visit:country': 'Country',
  'visit:region': 'Region',
  'visit:city': 'City',
  'visit:browser': 'Browser',
  'visit:browser_version': 'Browser version',
  'visit:os': 'Operating system',
  'visit:os_version': 'OS version',
  'visit:device': 'Device',
  'visit:screen': 'Screen size',
};
const OPERATOR_LABELS = { is: 'is', is_not: 'is not', contains: 'contains' };

/** The view a query string describes. Filters the page cannot read are kept as written
 * (`badFilters`) and sent on, so the server's answer says what is wrong with them. */
export function readView(search) {
  const params = new URLSearchParams(search);
  const view = {
    period: params.get('period') || DEFAULT_PERIOD,
    date: params.get('date'),
    filters: [],
    badFilters: null,
    interval: params.get('interval'),
    tabs: {},
  };
  const filters = params.get('filters');
  if (filters) {
    let parsed = null;
    try {
      parsed = JSON.parse(filters);
    } catch {
      parsed = null;
    }
    if (Array.isArray(parsed) && parsed.every(isFilter)) view.filters = parsed;
    else view.badFilters = filters;
  }
  for (const key of TAB_KEYS) {
    const value = params.get(key);
    if (value) view.tabs[key] = value;
  }
  return view;
}

function isFilter(item) {
  return Array.isArray(item) && item.length === 3 && typeof item[0] === 'string'
    && typeof item[1] === 'string' && Array.isArray(item[2])
    && item[2].every((value) => typeof value === 'string');
}

function filtersParam(view) {
  if (view.badFilters) return view.badFilters;
  return view.filters.length ? JSON.stringify(view.filters) : null;
}

/** The query string of a view (only what differs from the defaults, in a fixed order). */
export function writeView(view) {
  const params = new URLSearchParams();
  if (view.period !== DEFAULT_PERIOD) params.set('period', view.period);
  if (view.date) params.set('date', view.date);
  const filters = filtersParam(view);
  if (filters) params.set('filters', filters);
  if (view.interval) params.set('interval', view.interval);
  for (const key of TAB_KEYS) {
    if (view.tabs[key]) params.set(key, view.tabs[key]);
  }
  return params.toString();
}

// Characters left readable in links (`filters=[["is","event:page",["/pricing"]]]`): legal
// in a query string, and never taken for a separator by a parser of `a=b&c=d`.
const READABLE = { '%5B': '[', '%5D': ']', '%22': '"', '%3A': ':', '%2C': ',', '%2F': '/', '%40': '@' };

/** A link to `view` from this page. */
export function hrefOf(view) {
  const search = writeView(view).replace(/%(5B|5D|22|3A|2C|2F|40)/g, (code) => READABLE[code]);
  return search ? `?${search}` : '?';
}

/** A copy of `view` with `changes` applied (`tabs` merge into the view's tabs). */
export function withChanges(view, changes) {
  const next = { ...view, ...changes, tabs: { ...view.tabs, ...(changes.tabs || {}) } };
  if (changes.filters) next.badFilters = null;
  return next;
}

/** The view with `dimension` = `value` as a filter (replacing an `is` on the same one),
 * plus `scope`: the filters the row's tab counted with (e.g. custom events only), those not
 * already in the view, so the filtered dashboard shows the row's numbers. */
export function withFilter(view, dimension, value, scope = []) {
  const kept = view.filters.filter((f) => !(f[1] === dimension && f[0] === 'is'));
  const known = new Set(kept.map((f) => JSON.stringify(f)));
  const added = scope.filter((f) => !known.has(JSON.stringify(f))).map((f) => [f[0], f[1], [...f[2]]]);
  return withChanges(view, { filters: [...kept, ...added, ['is', dimension, [value]]] });
}

export function withoutFilter(view, index) {
  return withChanges(view, { filters: view.filters.filter((_, i) => i !== index) });
}

/** Parameters of a stats request for this view: its period, date and filters (plus
 * `moreFilters`, the panel's own), and `extra` parameters. */
export function statsParams(view, extra = {}, moreFilters = []) {
  const params = new URLSearchParams();
  params.set('period', view.period);
  if (view.date) params.set('date', view.date);
  const filters = view.badFilters || moreFilters.length
    ? (view.badFilters || JSON.stringify([...view.filters, ...moreFilters]))
    : filtersParam(view);
  if (filters) params.set('filters', filters);
  for (const [name, value] of Object.entries(extra)) {
    if (value !== undefined && value !== null) params.set(name, value);
  }
  return params;
}

export function isRealtime(view) {
  return view.period === REALTIME;
}

export function hasGoalFilter(view) {
  return view.filters.some((f) => f[1] === 'event:goal' && f[0] !== 'is_not');
}

export function dimensionLabel(dimension) {
  if (dimension.startsWith('event:props:')) return `Property ${dimension.slice(12)}`;
  return DIMENSION_LABELS[dimension] || dimension;
}

export function filterLabel(filter) {
  const [op, dimension, values] = filter;
  return `${dimensionLabel(dimension)} ${OPERATOR_LABELS[op] || op} ${values.join(' or ')}`;
}

/** The period's name as the menu shows it. */
export function periodLabel(view) {
  const known = PERIODS.find((p) => p.key === view.period);
  if (known) return known.label;
  if (view.period === 'custom' && view.date) return view.date.replace(',', ' – ');
  if (view.period === 'day') return view.date || 'Today';
  return view.period;
}

// -- intervals ---------------------------------------------------------------------------

const DAY_MS = 86_400_000;

/** About how many days the view's range lasts (enough to choose intervals). */
export function rangeDays(view) {
  switch (view.period) {
    case '30m': return 30 / 1440;
    case 'today': case 'day': case '24h': return 1;
    case '7d': return 7;
    case '30d': return 30;
    case 'month': case 'last_month': return 31;
    case '12mo': return 366;
    case 'custom': {
      const [first, last] = (view.date || '').split(',');
      const days = (Date.parse(last) - Date.parse(first)) / DAY_MS + 1;
      return Number.isFinite(days) && days > 0 ? days : 30;
    }
    default: return 30;
  }
}

/** The intervals worth offering for the range (the first few hundred buckets at most). */
export function intervalsFor(days) {
  if (days <= 1 / 24) return ['minute'];
  if (days <= 1.05) return ['minute', 'hour'];
  if (days <= 8) return ['hour', 'day'];
  if (days <= 100) return ['day', 'week'];
  return days <= 9000 ? ['day', 'week', 'month'] : ['week', 'month'];
}

/** The interval the server chooses without one (stats.intervals.default_interval). */
export function defaultInterval(days) {
  if (days <= 1 / 24) return 'minute';
  if (days <= 1.05) return 'hour';
  if (days <= 100) return 'day';
  return 'month';
}

/** The view's interval if it suits the range, else the default. */
export function chosenInterval(view) {
  const days = rangeDays(view);
  return intervalsFor(days).includes(view.interval) ? view.interval : defaultInterval(days);
}
