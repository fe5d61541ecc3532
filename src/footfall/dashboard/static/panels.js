// The breakdown panels: what each shows (a Stats API property and metrics per tab) and how a
// breakdown answer becomes a table whose rows filter the whole dashboard when clicked.

import { formatMetric } from './format.js';
import { dimensionLabel, hrefOf, withChanges, withFilter } from './view.js';

const UTM = [
  { key: 'utm_source', label: 'Source' },
  { key: 'utm_medium', label: 'Medium' },
  { key: 'utm_campaign', label: 'Campaign' },
  { key: 'utm_term', label: 'Term' },
  { key: 'utm_content', label: 'Content' },
];

export const METRIC_LABELS = {
  visitors: 'Visitors',
  visits: 'Visits',
  pageviews: 'Pageviews',
  views_per_visit: 'Views per visit',
  bounce_rate: 'Bounce rate',
  visit_duration: 'Visit duration',
  events: 'Events',
  conversions: 'Conversions',
  conversion_rate: 'Conversion rate',
};

// Each tab: the property it breaks down by, its metrics (the first sizes the bars), column
// names where the metric means something particular, and filters of its own.
export const PANELS = [
  {
    key: 'pages',
    title: 'Pages',
    tabs: [
      { key: 'top', label: 'Top pages', property: 'event:page', metrics: ['visitors', 'pageviews'] },
      { key: 'entry', label: 'Entry pages', property: 'visit:entry_page', metrics: ['visitors', 'visits', 'bounce_rate'], names: { visits: 'Entrances' } },
      { key: 'exit', label: 'Exit pages', property: 'visit:exit_page', metrics: ['visitors', 'visits'], names: { visits: 'Exits' } },
    ],
  },
  {
    key: 'sources',
    title: 'Sources',
    tabs: [
      { key: 'source', label: 'Sources', property: 'visit:source', metrics: ['visitors', 'bounce_rate'] },
      { key: 'referrer', label: 'Referrers', property: 'visit:referrer', metrics: ['visitors', 'bounce_rate'] },
      ...UTM.map((u, i) => ({
        key: u.key,
        label: 'UTM',
        hidden: i > 0, // one "UTM" tab; its parameter is chosen beside the table
        choices: UTM,
        property: `visit:${u.key}`,
        metrics: ['visitors', 'bounce_rate'],
      })),
    ],
  },
  {
    key: 'locations',
    title: 'Locations',
    tabs: [
      { key: 'country', label: 'Countries', property: 'visit:country', metrics: ['visitors'] },
      { key: 'region', label: 'Regions', property: 'visit:region', metrics: ['visitors'], empty: 'No regions: they need a City database (FOOTFALL_GEOIP_DATABASE).' },
      { key: 'city', label: 'Cities', property: 'visit:city', metrics: ['visitors'], empty: 'No cities: they need a City database (FOOTFALL_GEOIP_DATABASE).' },
    ],
  },
  {
    key: 'devices',
    title: 'Devices',
    tabs: [
      { key: 'browser', label: 'Browsers', property: 'visit:browser', metrics: ['visitors'] },
      { key: 'os', label: 'Operating systems', property: 'visit:os', metrics: ['visitors'] },
      { key: 'device', label: 'Devices', property: 'visit:device', metrics: ['visitors'] },
      { key: 'screen', label: 'Screen sizes', property: 'visit:screen', metrics: ['visitors'] },
    ],
  },
  {
    key: 'conversions',
    title: 'Goals and events',
    tabs: [
      { key: 'goals', label: 'Goals', property: 'event:goal', metrics: ['visitors', 'events', 'conversion_rate'], names: { visitors: 'Conversions', events: 'Completions', conversion_rate: 'Conv. rate' }, empty: 'No goals yet.', manage: { data: 'goalsUrl', add: 'Add a goal', why: ' to count conversions: visits to a page, or a custom event.', edit: 'Manage goals', otherwise: ' Goals are added by the owners and admins of this site.' } },
      { key: 'events', label: 'Custom events', property: 'event:name', metrics: ['visitors', 'events'], filters: [['is_not', 'event:name', ['pageview']]], empty: 'No custom events in this range.' },
      // `props:<key>` in the URL: the values of one custom property (keys listed by the server).
      { key: 'props', label: 'Properties', keyed: 'event:props:', metrics: ['visitors', 'events'], filters: [['is_not', 'event:name', ['pageview']]], empty: 'No custom event has this property in this range.', none: 'No custom event has properties in this range.' },
    ],
  },
];

export const ROWS = 10;

/** The tab a panel shows in `view` (its first one unless the URL names another). A keyed
 * tab (`tab.keyed`: the Stats API's property prefix) named `key:<name>` gets `propKey` and
 * its `property`; named `key` alone, the page picks the first key the server lists. */
export function activeTab(panel, view) {
  const value = view.tabs[panel.key] || '';
  const found = panel.tabs.find((tab) => tab.key === value);
  if (found) return found;
  const keyed = panel.tabs.find((tab) => tab.keyed && value.startsWith(`${tab.key}:`) && value.length > tab.key.length + 1);
  if (keyed) {
    const propKey = value.slice(keyed.key.length + 1);
    return { ...keyed, propKey, property: keyed.keyed + propKey };
  }
  return panel.tabs[0];
}

/** The tab's view value for property `key` (`props:plan`). */
export function keyedTabKey(tab, key) {
  return `${tab.key}:${key}`;
}

/** The property picker of a keyed tab: `keys` (plus `chosen` if the range has it no more);
 * `onPick(key)` when another is picked. Keeps the focus on the picker if it had it. */
export function showKeyChoice(frame, keys, chosen, onPick) {
  const focused = frame.choices.contains(document.activeElement);
  frame.choices.replaceChildren();
  if (!keys.length && !chosen) return null;
  const label = document.createElement('label');
  label.textContent = 'Property ';
  const select = document.createElement('select');
  for (const key of chosen && !keys.includes(chosen) ? [chosen, ...keys] : keys) {
    select.append(new Option(key, key, false, key === chosen));
  }
  select.addEventListener('change', () => onPick(select.value));
  label.append(select);
  frame.choices.append(label);
  if (focused) select.focus();
  return select;
}

function columnName(tab, metric) {
  return (tab.names && tab.names[metric]) || METRIC_LABELS[metric];
}

let regionNames = null;
function countryName(code) {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  try {
    regionNames = regionNames || new Intl.DisplayNames(undefined, { type: 'region' });
    return regionNames.of(code) || code;
  } catch {
    return code;
  }
}

function rowLabel(tab, value) {
  return tab.property === 'visit:country' ? countryName(value) : value;
}

/** Build the (empty) frame of every panel into `root`; returns them by key. */
export function buildPanels(root) {
  const built = {};
  for (const panel of PANELS) {
    const section = document.createElement('section');
    section.className = 'panel breakdown';
    section.dataset.panel = panel.key;
    section.setAttribute('aria-labelledby', `panel-${panel.key}-title`);
    const head = document.createElement('div');
    head.className = 'panel-head';
    const title = document.createElement('h2');
    title.id = `panel-${panel.key}-title`;
    title.textContent = panel.title;
    const tabs = document.createElement('nav');
    tabs.className = 'tab-links';
    tabs.setAttribute('aria-label', `${panel.title}: show`);
    head.append(title, tabs);
    const choices = document.createElement('div');
    choices.className = 'panel-choices';
    const body = document.createElement('div');
    body.className = 'breakdown-body';
    const foot = document.createElement('p');
    foot.className = 'panel-foot';
    const csv = document.createElement('a');
    csv.textContent = 'Download CSV';
    csv.setAttribute('download', '');
    // A link to where the tab's items are managed (`tab.manage`), for those who may.
    const manage = document.createElement('a');
    manage.className = 'panel-manage';
    manage.hidden = true;
    foot.append(csv, manage);
    section.append(head, choices, body, foot);
    root.append(section);
    built[panel.key] = { panel, section, tabs, choices, body, csv, manage };
  }
  return built;
}

/** Point the panel's tab links and choices at `view`. */
export function showTabs(frame, view, onChoice) {
  const current = activeTab(frame.panel, view);
  frame.tabs.replaceChildren(...frame.panel.tabs.filter((tab) => !tab.hidden || tab === current)
    .filter((tab, i, shown) => shown.findIndex((t) => t.label === tab.label) === i)
    .map((tab) => {
      const link = document.createElement('a');
      link.dataset.nav = '';
      link.textContent = tab.label;
      const same = tab.label === current.label;
      link.href = hrefOf(withChanges(view, { tabs: { [frame.panel.key]: same ? current.key : tab.key } }));
      if (same) link.setAttribute('aria-current', 'true');
      return link;
    }));
  frame.choices.replaceChildren();
  if (current.choices) {
    const label = document.createElement('label');
    label.textContent = 'UTM parameter ';
    const select = document.createElement('select');
    for (const choice of current.choices) {
      const option = new Option(choice.label, choice.key, false, choice.key === current.key);
      select.append(option);
    }
    select.addEventListener('change', () => onChoice(frame.panel.key, select.value));
    label.append(select);
    frame.choices.append(label);
  }
}

/** The page managing a tab's items (goals) when the signed-in user may manage them: the
 * dashboard element's `data-*` attribute `tab.manage.data` (set for owners and admins). */
function manageUrl(frame, tab) {
  if (!tab.manage) return null;
  const root = frame.section.closest('[data-dashboard]');
  return (root && root.dataset[tab.manage.data]) || null;
}

/** Fill a panel's table from a breakdown answer. */
export function showRows(frame, view, tab, answer, csvHref, caption) {
  frame.csv.hidden = !csvHref; // nothing to download: a keyed tab without a key
  if (csvHref) frame.csv.href = csvHref;
  const manage = manageUrl(frame, tab);
  frame.manage.hidden = !manage || !answer.results.length;
  if (manage) {
    frame.manage.href = manage;
    frame.manage.textContent = tab.manage.edit;
  }
  const rows = answer.results;
  if (!rows.length) {
    const empty = document.createElement('p');
    empty.className = 'muted empty-rows';
    empty.textContent = tab.empty || 'Nothing in this range.';
    if (manage) {
      const link = document.createElement('a');
      link.href = manage;
      link.textContent = tab.manage.add;
      empty.append(' ', link, tab.manage.why);
    } else if (tab.manage) {
      empty.append(tab.manage.otherwise);
    }
    frame.body.replaceChildren(empty);
    return;
  }
  const [lead, ...others] = tab.metrics;
  const top = Math.max(1, ...rows.map((row) => row[lead] || 0));
  const table = document.createElement('table');
  table.className = 'table breakdown-table';
  table.dataset.property = tab.property;
  const captionNode = table.createCaption();
  captionNode.className = 'visually-hidden';
  captionNode.textContent = caption;
  const head = table.createTHead().insertRow();
  for (const [index, text] of [dimensionLabel(tab.property), ...tab.metrics.map((m) => columnName(tab, m))].entries()) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = text;
    if (index) th.className = 'num';
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.value = row.value;
    const name = document.createElement('th');
    name.scope = 'row';
    name.className = 'bar-cell';
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    bar.style.width = `${((row[lead] || 0) / top) * 100}%`; // CSSOM: allowed by the CSP
    const link = document.createElement('a');
    link.dataset.nav = '';
    link.href = hrefOf(withFilter(view, tab.property, row.value, tab.filters || []));
    link.textContent = rowLabel(tab, row.value);
    link.title = `Filter by ${dimensionLabel(tab.property).toLowerCase()}: ${row.value}`;
    name.append(bar, link);
    tr.append(name);
    for (const metric of [lead, ...others]) {
      const td = tr.insertCell();
      td.className = 'num';
      td.dataset.metric = metric;
      td.dataset.value = String(row[metric]);
      td.textContent = formatMetric(metric, row[metric]);
    }
  }
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  wrap.append(table);
  // A refresh (the realtime view's) must not take the focus from a row being read.
  const focused = frame.body.contains(document.activeElement)
    && document.activeElement.closest('tr[data-value]');
  frame.body.replaceChildren(wrap);
  if (focused) {
    const again = [...body.rows].find((tr) => tr.dataset.value === focused.dataset.value);
    if (again) again.querySelector('a').focus();
  }
}
