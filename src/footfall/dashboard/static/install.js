// The install page's "waiting for the first pageview" panel: polls the site's status until
// the first event is stored, then turns green and stops.

const panel = document.querySelector('[data-status-url]');

function plural(count, word) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function showLive(status) {
  panel.classList.add('is-live');
  panel.querySelector('[data-status-text]').textContent = 'Receiving events';
  const first = new Date(status.firstEventAt);
  const when = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' }).format(first);
  panel.querySelector('[data-status-detail]').textContent =
    `First event at ${when}; ${plural(status.currentVisitors, 'current visitor')}.`;
  panel.querySelector('[data-status-next]').hidden = false;
}

async function poll(url, interval) {
  for (;;) {
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (response.status === 401) {
        window.location.reload(); // signed out meanwhile: the page takes the reader to sign-in
        return;
      }
      if (response.ok) {
        const status = await response.json();
        if (status.receiving) {
          showLive(status);
          return;
        }
      }
    } catch {
      // Offline or the server restarting: keep trying at the same pace.
    }
    await new Promise((resolve) => { window.setTimeout(resolve, interval); });
  }
}

if (panel && !panel.classList.contains('is-live')) {
  poll(panel.dataset.statusUrl, Number(panel.dataset.pollMs) || 2500);
}
