// CSP probe, served as the page's own script: starts ringflate-worker.js (relative to the page) with no
// options, as Sentry does, and reports in window.__probe (a Promise) what happened:
//   { kind: 'ready', finish: { success, base64 } }   first message success, then addEvent ×2 + finish
//   { kind: 'refused', data }                         first message success:false
//   { kind: 'error', message }                        an error event on the Worker object
//   { kind: 'throw', message } / { kind: 'timeout' }
// plus `violations` (the page's securitypolicyviolation events) and, with ?blob=1, whether a blob: worker
// was refused by the page's CSP (`blobRefused`).
'use strict';
(function () {
  var EVENTS = [
    JSON.stringify({ type: 4, timestamp: 1700000000000, data: { href: 'https://example.com/ünï', width: 1280, height: 720 } }),
    JSON.stringify({ type: 3, timestamp: 1700000000100, data: { source: 5, text: 'probe ✓ 中文 😀', isChecked: false, id: 12 } }),
  ];
  window.__probeEvents = EVENTS;
  var violations = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    violations.push({ directive: e.violatedDirective, effective: e.effectiveDirective, blocked: e.blockedURI });
  });
  function toBase64(u8) {
    var s = '';
    for (var i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  }
  function settle(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function probeWorker() {
    return new Promise(function (resolve) {
      var w;
      var t0 = performance.now();
      try {
        w = new Worker('ringflate-worker.js');
      } catch (e) {
        resolve({ kind: 'throw', message: String(e) });
        return;
      }
      var timer = setTimeout(function () { finish({ kind: 'timeout' }); }, 8000);
      var finished = false;
      function finish(r) {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        r.ms = performance.now() - t0;
        w.terminate();
        resolve(r);
      }
      w.addEventListener('error', function (e) { finish({ kind: 'error', message: e.message || '' }); });
      w.addEventListener('message', function (e) {
        var d = e.data || {};
        if (!d.success) {
          finish({ kind: 'refused', data: { id: d.id, method: d.method, success: d.success, response: d.response } });
          return;
        }
        w.addEventListener('message', function (ev) {
          var r = ev.data;
          if (r.id !== 2) return;
          finish({ kind: 'ready', finish: { success: r.success, base64: r.response instanceof Uint8Array ? toBase64(r.response) : null, response: String(r.response) } });
        });
        w.postMessage({ id: 0, method: 'addEvent', arg: EVENTS[0] });
        w.postMessage({ id: 1, method: 'addEvent', arg: EVENTS[1] });
        w.postMessage({ id: 2, method: 'finish' });
      }, { once: true });
    });
  }

  function probeBlob() {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' }));
      var w;
      try {
        w = new Worker(url);
      } catch (e) {
        resolve(true);
        return;
      }
      w.onmessage = function () { w.terminate(); resolve(false); };
      w.onerror = function () { w.terminate(); resolve(true); };
    });
  }

  window.__probe = probeWorker().then(function (r) {
    var blob = new URLSearchParams(location.search).get('blob') === '1' ? probeBlob() : Promise.resolve(null);
    return blob.then(function (b) {
      r.blobRefused = b;
      // Violation reports are queued tasks: give them a moment to arrive.
      return settle(100).then(function () { r.violations = violations; return r; });
    });
  });
})();
