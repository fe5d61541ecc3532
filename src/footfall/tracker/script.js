/* Footfall tracker: pageviews (incl. single-page apps) and custom events, footfall('signup',
   {plan: 'pro'}). Never throws into the host page. Events carry a random id: failed sends are
   retried (3 times at most, not before Retry-After) and the server stores them once. */
(function (w, d) {
  'use strict';
  try {
    var s = d.currentScript, id = s && s.getAttribute('data-website-id');
    if (!id) return;
    var api = s.getAttribute('data-api') || new URL(s.src).origin + '/api/event';
    var ref = d.referrer || null, last = null, queued = w.footfall && w.footfall.q;
    // A text/plain body needs no CORS preflight; keepalive outlives the page.
    var post = function (body, tries) {
      var again = function (wait) { // seconds: Retry-After, else 1, 2, 4
        wait = wait > 0 ? wait : 1 << tries;
        if (tries < 3 && wait <= 60) setTimeout(post, (wait + Math.random()) * 1e3, body, tries + 1);
      };
      fetch(api, { method: 'POST', body: body, keepalive: true,
        headers: { 'Content-Type': 'text/plain' } }).then(function (r) {
        if (r.status == 429 || r.status > 501 && r.status < 505) {
          again(+r.headers.get('Retry-After'));
        }
      }, function () { again(); });
    };
    var send = function (name, props) {
      try {
        if (w.localStorage && localStorage.getItem('footfall_ignore') === 'true') return;
        var rnd = crypto.getRandomValues(new Uint8Array(16)), eid = '';
        for (var i = 0; i < 16; i++) eid += (rnd[i] % 36).toString(36);
        var body = JSON.stringify({
          websiteId: id, name: name, url: location.href, referrer: ref,
          screenWidth: w.innerWidth, eventId: eid,
          props: props && typeof props === 'object' ? props : undefined
        });
        // A hidden page may be closing: a beacon surely leaves (and none could retry).
        if (!(d.visibilityState === 'hidden' && navigator.sendBeacon &&
              navigator.sendBeacon(api, body))) post(body, 0);
      } catch (e) { /* never break the page */ }
    };
    var pageview = function () {
      var here = location.pathname + location.search;
      if (here === last) return;
      if (last !== null) ref = location.origin + last;
      last = here;
      if (d.visibilityState === 'prerender') {
        d.addEventListener('visibilitychange', function once() {
          d.removeEventListener('visibilitychange', once);
          send('pageview');
        });
      } else send('pageview');
    };
    var wrap = function (method) {
      var original = history[method];
      if (!original) return;
      history[method] = function () {
        var result = original.apply(this, arguments);
        pageview();
        return result;
      };
    };
    wrap('pushState');
    wrap('replaceState');
    w.addEventListener('popstate', pageview);
    w.footfall = function (name, props) { if (name) send(String(name), props); };
    pageview();
    if (queued) for (var i = 0; i < queued.length; i++) w.footfall.apply(w, queued[i]);
  } catch (e) { /* never break the page */ }
})(window, document);
