/* Footfall live counter: "7 people viewing now", kept up to date while the page is open.
   <script src="https://HOST/widget.js" data-key="pk_…" data-path="/pricing"></script> renders
   where the tag stands (or into data-target="#css-selector"); once loaded, any
   <footfall-live key="pk_…" path="/pricing"></footfall-live> element renders too.
   Attributes: key; path (default: this page; /section/* for a section); one, other (and zero,
   two, few, many: by the page's language) = text templates, {n} = the count; min = hide below
   (default 1); fallback = text shown instead of hiding ({min}); interval = polling seconds when
   streaming is not possible (default 30); api = server origin (default: this script's).
   Styling: footfall-live[data-state=live|fallback|hidden|loading|off], .footfall-count.
   Never throws into the host page; shows nothing while the server cannot be reached. */
(function (w, d) {
  'use strict';
  try {
    var ce = w.customElements, s = d.currentScript;
    if (!ce || !w.URL) return;
    var origin = s && s.src ? new URL(s.src, location.href).origin : '';
    var rules = w.Intl && Intl.PluralRules ? new Intl.PluralRules(d.documentElement.lang || undefined) : null;
    var TEXT = { one: '{n} person viewing now', other: '{n} people viewing now' };

    class Live extends HTMLElement {
      static get observedAttributes() { return ['key', 'path', 'api']; }
      connectedCallback() { try { this._start(); } catch (e) { /* never break the page */ } }
      disconnectedCallback() { this._stop(); }
      attributeChangedCallback() { if (this._poll && this.isConnected) this.connectedCallback(); }

      _attr(name, dflt) {
        var v = this.getAttribute(name);
        return v === null || v === '' ? dflt : v;
      }

      _state(state) {
        this.setAttribute('data-state', state);
        this.hidden = state === 'hidden' || state === 'off' || state === 'loading';
      }

      _start() {
        this._stop();
        var key = this._attr('key');
        this._state('loading');
        if (!key) return this._state('off');
        var q = '?key=' + encodeURIComponent(key) +
          '&path=' + encodeURIComponent(this._attr('path', location.pathname));
        var api = this._attr('api', origin).replace(/\/$/, '') + '/api/v1/live';
        this._poll = api + q;
        this._src = api + '/stream' + q;
        this._wait = Math.max(2, +this._attr('interval', 30) || 30) * 1000;
        this._tries = this._fails = 0;
        this._open();
      }

      // Stream when the browser can, else poll. A stream that fails (closed: the server
      // refused it or answered no stream, e.g. a 503 while it restarts; or broken 4 times in a
      // row: a proxy that breaks streams) gives way to polling, and is tried again after
      // growing pauses: after a rolling deploy, pages stream again.
      _open() {
        this._stop();
        if (!w.EventSource) return this._fetch();
        var self = this, failures = 0;
        var es = this._es = new EventSource(this._src);
        es.onmessage = function (e) {
          try {
            self._show(e.data);
            failures = self._tries = self._fails = 0;
          } catch (x) { /* bad data (a meddling proxy): keep what is shown */ }
        };
        es.onerror = function () {
          if (es.readyState === 2 || ++failures > 3) {
            self._stop();
            self._fetch();
            self._retry = setTimeout(function () { self._open(); }, self._pause(1e4, self._tries++));
          }
        };
      }

      _stop() {
        if (this._es) this._es.close();
        clearTimeout(this._timer);
        clearTimeout(this._retry);
        this._es = null;
        this._gen = (this._gen || 0) + 1; // answers to earlier requests are ignored
      }

      // base * 2^n, at most 5 minutes, less up to half at random: pages that lost the server
      // together do not all come back at the same moment.
      _pause(base, n) {
        return Math.min(base * Math.pow(2, n), 3e5) * (1 - Math.random() / 2);
      }

      _fetch() {
        var self = this, gen = this._gen;
        var next = function (ms) {
          if (gen === self._gen && self.isConnected) self._timer = setTimeout(function () { self._fetch(); }, ms);
        };
        var fail = function () { next(self._pause(self._wait, ++self._fails)); };
        fetch(this._poll, { credentials: 'omit', cache: 'no-store' }).then(function (r) {
          if (gen !== self._gen) return;
          if (r.ok) return r.text().then(function (t) { self._show(t); self._fails = 0; next(self._wait); });
          if (r.status >= 400 && r.status < 500 && r.status !== 429) {
            self._stop();
            self._state('off'); // a key or path this server refuses: stop asking
            return r.json().then(function (b) { console.warn('footfall-live:', b.error); });
          }
          fail();
        })['catch'](fail);
      }

      _show(text) {
        var live = JSON.parse(text), n = live.currentVisitors;
        if (n !== null && typeof n != 'number') throw 0; // not a count: show nothing of it
        var min = Math.max(+this._attr('min', 1) || 0, live.minimum || 0);
        if (n === null || n < min) {
          var fb = this._attr('fallback');
          if (!fb) return this._state('hidden');
          this.textContent = fb.replace(/\{min\}/g, String(min));
          return this._state('fallback');
        }
        var plain = n === 1 ? 'one' : 'other';
        var tpl = this._attr(rules ? rules.select(n) : plain) || this._attr(plain, TEXT[plain]);
        var parts = tpl.split('{n}');
        this.textContent = '';
        for (var i = 0; i < parts.length; i++) {
          if (i) {
            var count = d.createElement('span');
            count.className = 'footfall-count';
            count.textContent = String(n);
            this.appendChild(count);
          }
          if (parts[i]) this.appendChild(d.createTextNode(parts[i]));
        }
        this.setAttribute('data-count', String(n));
        this._state('live');
      }
    }

    if (!ce.get('footfall-live')) ce.define('footfall-live', Live);

    // The script-tag form: an element with the tag's data-* settings, where the tag stands.
    if (s && s.getAttribute('data-key')) {
      var el = d.createElement('footfall-live'), a = s.attributes;
      for (var i = 0; i < a.length; i++) {
        if (a[i].name.indexOf('data-') === 0 && a[i].name !== 'data-target') {
          el.setAttribute(a[i].name.slice(5), a[i].value);
        }
      }
      if (!el.getAttribute('api')) el.setAttribute('api', origin);
      var place = function () {
        var target = s.getAttribute('data-target');
        var host = target ? d.querySelector(target) : null;
        if (host) host.appendChild(el);
        else if (s.parentNode && s.parentNode !== d.head) s.parentNode.insertBefore(el, s.nextSibling);
      };
      if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', place);
      else place();
    }
  } catch (e) { /* never break the page */ }
})(window, document);
