// Reference worker, not a contestant: it does no compression at all. Each event is
// encoded to UTF-8 and kept; finish wraps the segment in a zlib stream of stored
// (uncompressed) deflate blocks with its Adler-32. Its MB/s is what Sentry's
// one-message-per-event protocol itself costs in this browser on this machine:
// no compressor fed this way can be faster. Speaks Sentry's worker protocol.
(function () {
  'use strict';
  var enc = new TextEncoder();
  var parts, size, hasEvents;

  function init() {
    parts = [enc.encode('[')];
    size = 1;
    hasEvents = false;
  }

  function add(text) {
    var b = enc.encode(text);
    parts.push(b);
    size += b.length;
  }

  function finish() {
    add(']');
    var data = new Uint8Array(size);
    for (var i = 0, o = 0; i < parts.length; i++) { data.set(parts[i], o); o += parts[i].length; }
    var blocks = Math.max(1, Math.ceil(size / 65535));
    var out = new Uint8Array(2 + size + 5 * blocks + 4);
    out[0] = 0x78; out[1] = 0x9c;
    var p = 2;
    for (var k = 0; k < blocks; k++) {
      var start = k * 65535, len = Math.min(65535, size - start);
      out[p++] = k === blocks - 1 ? 1 : 0; // BFINAL, BTYPE=00 (stored)
      out[p++] = len & 255; out[p++] = len >>> 8;
      out[p++] = ~len & 255; out[p++] = (~len >>> 8) & 255;
      out.set(data.subarray(start, start + len), p);
      p += len;
    }
    var a = 1, b = 0;
    for (var j = 0; j < size; ) {
      var end = Math.min(size, j + 3800);
      for (; j < end; j++) { a += data[j]; b += a; }
      a %= 65521; b %= 65521;
    }
    out[p++] = b >>> 8; out[p++] = b & 255; out[p++] = a >>> 8; out[p++] = a & 255;
    init();
    return out;
  }

  var methods = {
    addEvent: function (arg) {
      if (!arg) throw new Error('Adding invalid event');
      add((hasEvents ? ',' : '') + arg);
      hasEvents = true;
    },
    finish: finish,
    clear: function () { init(); },
  };

  init();
  addEventListener('message', function (e) {
    var m = e.data.method;
    if (!methods.hasOwnProperty(m)) return;
    try {
      var r = methods[m](e.data.arg);
      postMessage({ id: e.data.id, method: m, success: true, response: r }, r ? [r.buffer] : []);
    } catch (err) {
      postMessage({ id: e.data.id, method: m, success: false, response: String(err && err.message || err) });
    }
  });
  postMessage({ id: undefined, method: 'init', success: true, response: undefined });
})();
