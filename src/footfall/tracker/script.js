/* Footfall tracker: pageviews (incl. single-page-app navigation) and custom events.
   <script defer src="https://HOST/script.js" data-website-id="ID"></script>
   footfall('signup', {plan: 'pro'}) sends a custom event. Never throws into the host page. */
(function (w, d) {
  'use strict';
  try {
    var s = d.currentScript, id = s && s.getAttribute('data-website-id');
    if (!id) return;
    var api = s.getAttribute('data-api') || new URL(s.src).origin + '/api/event';
    var ref = d.referrer || null, last = null, queued = w.footfall && w.footfall.q;
    var send = function (name, props) {
      try {
        if (w.localStorage && localStorage.getItem('footfall_ignore') === 'true') return;
        var body = JSON.stringify({
          websiteId: id, name: name, url: location.href, referrer: ref,
          screenWidth: w.innerWidth,
          props: props && typeof props === 'object' ? props : undefined
        });
        // A string body goes as text/plain: a "simple" request, so no CORS preflight.
        if (!(navigator.sendBeacon && navigator.sendBeacon(api, body))) {
          fetch(api, { method: 'POST', body: body, keepalive: true,
            headers: { 'Content-Type': 'text/plain' } })['catch'](function () {});
        }
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
