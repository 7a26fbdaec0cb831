// Peer worker: pako's streaming Deflate the way Datadog's browser SDK uses it
// (packages/worker/src/boot/startWorker.ts in DataDog/browser-sdk): one Deflate
// per segment, every write pushed with Z_SYNC_FLUSH, and the stream ended by
// appending an empty final block (03 00) and the Adler-32 of everything written,
// instead of a Z_FINISH. Default level (6).
// Speaks Sentry's worker protocol so the same host driver feeds every contestant.
// The build prepends pako's deflate-only UMD bundle, which defines `self.pako`.
(function () {
  'use strict';
  // zlib's flush constant; pako's deflate-only bundle does not export its constants.
  var Z_SYNC_FLUSH = 2;
  var deflate, chunks, hasEvents;

  function init() {
    deflate = new pako.Deflate();
    chunks = [];
    // Datadog keeps the chunks written since the previous write; here they are
    // gathered for the whole segment, which finish returns.
    deflate.onData = function (c) { chunks.push(c); };
    hasEvents = false;
    write('[');
  }

  function write(text) {
    deflate.push(text, Z_SYNC_FLUSH); // pako encodes the string to UTF-8 (Datadog's string2buf)
    if (deflate.err) throw new Error('pako: ' + deflate.msg);
  }

  function trailer() {
    var a = deflate.strm.adler >>> 0;
    return new Uint8Array([3, 0, a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]);
  }

  function finish() {
    write(']');
    chunks.push(trailer());
    var n = 0;
    for (var i = 0; i < chunks.length; i++) n += chunks[i].length;
    var out = new Uint8Array(n);
    for (var j = 0, o = 0; j < chunks.length; j++) { out.set(chunks[j], o); o += chunks[j].length; }
    init();
    return out;
  }

  var methods = {
    addEvent: function (arg) {
      if (!arg) throw new Error('Adding invalid event');
      write((hasEvents ? ',' : '') + arg);
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
