// Peer worker: the browser's own CompressionStream('deflate') (zlib format,
// the browser's zlib at its default level). One stream per segment; each event
// is encoded to UTF-8 and written without awaiting (the readable side is drained
// all along); finish writes ']', closes the stream and replies with everything
// it produced. Speaks Sentry's worker protocol.
(function () {
  'use strict';
  var enc = new TextEncoder();
  var writer, result, hasEvents;
  // Replies go out in arrival order even though finish is asynchronous.
  var chain = Promise.resolve();

  function init() {
    var cs = new CompressionStream('deflate');
    writer = cs.writable.getWriter();
    result = new Response(cs.readable).arrayBuffer();
    hasEvents = false;
    writer.write(enc.encode('['));
  }

  function finish() {
    writer.write(enc.encode(']'));
    writer.close();
    var done = result;
    init();
    return done.then(function (buf) { return new Uint8Array(buf); });
  }

  var methods = {
    addEvent: function (arg) {
      if (!arg) throw new Error('Adding invalid event');
      writer.write(enc.encode((hasEvents ? ',' : '') + arg));
      hasEvents = true;
    },
    finish: finish,
    clear: function () { writer.abort(); init(); },
  };

  init();
  addEventListener('message', function (e) {
    var m = e.data.method, id = e.data.id;
    if (!methods.hasOwnProperty(m)) return;
    var r;
    try {
      r = methods[m](e.data.arg);
    } catch (err) {
      r = Promise.reject(err);
    }
    chain = chain.then(function () { return r; }).then(
      function (v) { postMessage({ id: id, method: m, success: true, response: v }, v ? [v.buffer] : []); },
      function (err) { postMessage({ id: id, method: m, success: false, response: String(err && err.message || err) }); }
    );
  });
  postMessage({ id: undefined, method: 'init', success: true, response: undefined });
})();
