// The live header: each of the user's sites with its current visitors (the Realtime API's
// number: unique visitors with a pageview in the last 3 minutes).
//
// Two sources, as the Realtime API's docs describe the header: `GET /live` at once and every
// 3 minutes (the count's window), and `GET /live/stream`, server-sent events pushed as a
// count moves, so a pageview shows within seconds without reloading. The stream reconnects
// by itself (EventSource); if the server refuses it, polling carries on alone and the stream
// is tried again later.
//
// Updated elements: `[data-live-count="<site id>"]` (shown once known), `[data-live-total]`
// (the sum), `[data-current-visitors="<site id>"]` (the number alone, with a sibling
// `[data-plural="one|other"]` label). Each change is also announced as a `footfall:live`
// event on `document` (detail: websiteId, currentVisitors) for the page's own scripts.

const POLL_MS = 180_000;
const STREAM_RETRY_MS = 60_000;
const number = new Intl.NumberFormat();

// A header count and its screen-reader label ("1 current visitor", "2 current visitors").
function showCount(element, count) {
  element.querySelector('[data-live-value]').textContent = number.format(count);
  const label = element.querySelector('[data-live-label]');
  if (label) label.textContent = count === 1 ? ' current visitor' : ' current visitors';
}

export function startLiveHeader(doc) {
  const watched = doc.querySelector('[data-live-count], [data-live-total], [data-current-visitors]');
  if (!watched) return;
  const counts = new Map();
  let stopped = false;
  let source = null;

  function show(siteId, count) {
    const changed = counts.get(siteId) !== count;
    counts.set(siteId, count);
    for (const element of doc.querySelectorAll(`[data-live-count="${CSS.escape(siteId)}"]`)) {
      showCount(element, count);
      element.classList.toggle('is-active', count > 0);
      element.hidden = false;
    }
    for (const element of doc.querySelectorAll(`[data-current-visitors="${CSS.escape(siteId)}"]`)) {
      element.textContent = number.format(count);
      const label = element.parentElement && element.parentElement.querySelector('[data-plural]');
      if (label) {
        const [one, other] = label.dataset.plural.split('|');
        label.textContent = count === 1 ? one : other;
      }
    }
    const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
    for (const element of doc.querySelectorAll('[data-live-total]')) {
      showCount(element, total);
      element.classList.toggle('is-active', total > 0);
      element.hidden = false;
    }
    if (changed) {
      doc.dispatchEvent(new CustomEvent('footfall:live', { detail: { websiteId: siteId, currentVisitors: count } }));
    }
  }

  function stop() {
    stopped = true;
    if (source) source.close();
  }

  async function poll() {
    if (stopped) return;
    try {
      const response = await fetch('/live', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (response.status === 401) {
        stop(); // signed out: nothing more to show
        return;
      }
      if (response.ok) {
        const answer = await response.json();
        for (const site of answer.sites) show(site.websiteId, site.currentVisitors);
      }
    } catch {
      // Offline or the server restarting: the next poll (or the stream) catches up.
    }
  }

  function stream() {
    if (stopped || !window.EventSource) return;
    source = new EventSource('/live/stream');
    source.addEventListener('message', (event) => {
      try {
        const update = JSON.parse(event.data);
        show(update.websiteId, update.currentVisitors);
      } catch {
        // A malformed event is skipped; the next one or the next poll corrects it.
      }
    });
    source.addEventListener('error', () => {
      // CLOSED: the server refused the stream (signed out, or too many streams); polling
      // goes on, and the stream is tried again later. Otherwise EventSource reconnects.
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        poll();
        window.setTimeout(stream, STREAM_RETRY_MS);
      }
    });
  }

  poll();
  window.setInterval(poll, POLL_MS);
  stream();
}
