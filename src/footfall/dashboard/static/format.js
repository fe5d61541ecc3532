// Numbers, durations, percentages and dates as the dashboard shows them, in the reader's
// language (Intl). Bucket dates from the Stats API are local times of the site's time zone
// written without an offset ("2026-09-21T14:00:00"): they are shown as written, never moved
// into the browser's zone.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** A count: "1,234"; from 100,000 on "123K" (the exact value is in the element's title). */
export function formatCount(value) {
  return value >= 100_000 ? compact.format(value) : integer.format(value);
}

export function formatExact(value) {
  return decimal.format(value);
}

/** Seconds as "45s", "3m 05s", "1h 02m". */
export function formatDuration(seconds) {
  const total = Math.round(seconds);
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m ${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatPercent(value) {
  return `${oneDecimal.format(value)}%`;
}

/** A metric's value as shown: counts, ratios, percentages or durations by the metric. */
export function formatMetric(metric, value) {
  if (value === null || value === undefined) return '–';
  if (metric === 'bounce_rate' || metric === 'conversion_rate') return formatPercent(value);
  if (metric === 'visit_duration') return formatDuration(value);
  if (metric === 'views_per_visit') return decimal.format(value);
  return formatCount(value);
}

/** The parts of an API date ("2026-09-21" or "2026-09-21T14:05:00") as a UTC Date, so that
 * formatting with timeZone UTC shows exactly the local time the API wrote. */
export function bucketDate(text) {
  const [day, time = '00:00:00'] = text.split('T');
  const [y, m, d] = day.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  return new Date(Date.UTC(y, m - 1, d, hh, mm));
}

const FORMATS = {
  minute: { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' },
  hour: { weekday: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' },
  day: { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' },
  week: { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' },
  month: { month: 'long', year: 'numeric', timeZone: 'UTC' },
};
const SHORT = {
  minute: { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' },
  hour: { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' },
  day: { day: 'numeric', month: 'short', timeZone: 'UTC' },
  week: { day: 'numeric', month: 'short', timeZone: 'UTC' },
  month: { month: 'short', year: '2-digit', timeZone: 'UTC' },
};
const formatters = new Map();

function formatter(options) {
  let found = formatters.get(options);
  if (!found) {
    found = new Intl.DateTimeFormat(undefined, options);
    formatters.set(options, found);
  }
  return found;
}

/** A bucket's name in full ("Mon, 21 Sept", "14:05", "week of 15 Sept 2026"). */
export function formatBucket(text, interval) {
  const shown = formatter(FORMATS[interval] || FORMATS.day).format(bucketDate(text));
  return interval === 'week' ? `week of ${shown}` : shown;
}

/** A bucket's short name, for the chart's axis. */
export function formatTick(text, interval) {
  return formatter(SHORT[interval] || SHORT.day).format(bucketDate(text));
}
