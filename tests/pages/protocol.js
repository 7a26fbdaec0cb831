// Test page helper: talks to a ringflate worker the way Sentry's host does (new Worker(url) with no options,
// messages posted at once, even before the worker is ready) and records everything the worker posts back.
// Compressed responses are returned to the test as base64 so it can inflate them with node's zlib.
'use strict';
(function () {
  function toBase64(u8) {
    var s = '';
    for (var i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  }
  function describe(data) {
    if (data === null || typeof data !== 'object') return { notObject: true, value: String(data) };
    var out = { keys: Object.keys(data), id: data.id, idType: typeof data.id, method: data.method, success: data.success };
    var r = data.response;
    out.responseType = r instanceof Uint8Array ? 'Uint8Array' : typeof r;
    if (r instanceof Uint8Array) out.base64 = toBase64(r);
    else out.response = r;
    return out;
  }
  var texts = {};
  window.rf = {
    // Fetches a text resource and keeps it under `name`, for messages that say { argFrom: name }.
    load: function (name, url) {
      return fetch(url).then(function (r) { return r.text(); }).then(function (t) { texts[name] = t; return t.length; });
    },
    // Starts a worker, posts every message right away and resolves with the first `count` messages it posts
    // (each described), plus `error` events. Rejects after `timeoutMs`.
    run: function (url, messages, count, timeoutMs) {
      return new Promise(function (resolve, reject) {
        var t0 = performance.now();
        var got = [];
        var errors = [];
        var w = new Worker(url);
        var timer = setTimeout(function () {
          w.terminate();
          reject(new Error('worker posted ' + got.length + ' of ' + count + ' expected messages within ' + timeoutMs + ' ms: ' +
            JSON.stringify(got.map(function (m) { return { id: m.id, method: m.method, success: m.success, response: m.response }; })) +
            ' errors: ' + JSON.stringify(errors)));
        }, timeoutMs);
        w.onmessage = function (e) {
          var d = describe(e.data);
          d.ms = performance.now() - t0;
          got.push(d);
          if (got.length >= count) {
            clearTimeout(timer);
            // Leave a moment for unexpected extra replies to show up before terminating.
            setTimeout(function () { w.terminate(); resolve({ messages: got, errors: errors }); }, 50);
          }
        };
        w.onerror = function (e) { errors.push(String(e.message || 'error event')); };
        for (var i = 0; i < messages.length; i++) {
          var m = messages[i];
          if (m && typeof m === 'object' && m.argFrom) {
            var copy = Object.assign({}, m);
            delete copy.argFrom;
            copy.arg = texts[m.argFrom];
            m = copy;
          }
          w.postMessage(m);
        }
      });
    },
  };
})();
