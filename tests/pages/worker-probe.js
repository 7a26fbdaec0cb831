// Starts a worker from a URL and records its first message (or error event) and how long it took.
// window.probeWorker(url) → Promise<{ kind: 'message'|'error'|'timeout', data, ms }>
'use strict';
window.probeWorker = function (url, timeoutMs) {
  return new Promise(function (resolve) {
    var t0 = performance.now();
    var w = new Worker(url);
    var done = function (r) { r.ms = performance.now() - t0; w.terminate(); resolve(r); };
    var timer = setTimeout(function () { done({ kind: 'timeout' }); }, timeoutMs || 5000);
    w.addEventListener('message', function (e) {
      clearTimeout(timer);
      var d = e.data || {};
      done({ kind: 'message', data: { keys: Object.keys(d), id: d.id, method: d.method, success: d.success, response: d.response } });
    }, { once: true });
    w.addEventListener('error', function (e) {
      clearTimeout(timer);
      done({ kind: 'error', message: e.message || '' });
    }, { once: true });
  });
};
