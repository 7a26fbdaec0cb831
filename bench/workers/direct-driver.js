// The `direct` pass of the browser bench: the WebAssembly engine's own speed in a browser worker,
// with no messaging between threads. This dedicated worker loads a Sentry-protocol worker file
// (ringflate-worker.js) into itself with importScripts, takes over its onmessage handler and its
// postMessage calls, and feeds it the corpus file by calling the handler directly: one addEvent per
// event, a finish at every segment start, as the `stream` pass posts them. Pass 0 runs on the fresh
// instance (cold); later passes on the same instance (warm). The outputs of pass 0 go back to the
// page, which inflates and compares them like every other output.
//
// Page → driver: {cmd: 'load', url} then {cmd: 'run', lines, starts, passes}.
// Driver → page: {ready: true} | {ms: [...], outputs: [Uint8Array...]} | {error}.
var pagePost = self.postMessage.bind(self);
var replies = [];
var handler = null;

self.addEventListener('message', function (e) {
  var d = e.data;
  try {
    if (d.cmd === 'load') load(d.url);
    else if (d.cmd === 'run') run(d);
  } catch (err) {
    pagePost({ error: String((err && err.stack) || err) });
  }
});

function load(url) {
  // The engine's replies land here; bare postMessage calls in its script resolve to this property.
  self.postMessage = function (m) {
    replies.push(m);
  };
  importScripts(url);
  handler = self.onmessage;
  self.onmessage = null;
  var waited = 0;
  (function poll() {
    if (replies.length) {
      var init = replies.shift();
      if (init && init.method === 'init' && init.success === true) pagePost({ ready: true });
      else pagePost({ error: 'engine did not start: ' + JSON.stringify(init) });
      return;
    }
    if ((waited += 5) > 20000) return pagePost({ error: 'engine did not start within 20 s' });
    setTimeout(poll, 5);
  })();
}

function call(data) {
  handler({ data: data });
  return replies.splice(0);
}

function run(d) {
  var lines = d.lines;
  var starts = d.starts;
  var ms = [];
  var outputs = [];
  var id = 0;
  for (var p = 0; p < d.passes; p++) {
    var next = 1;
    var t0 = performance.now();
    for (var i = 0; i < lines.length; i++) {
      if (next < starts.length && starts[next] === i) {
        var f = call({ id: id++, method: 'finish' });
        if (p === 0) outputs.push(f[0] && f[0].response);
        next++;
      }
      var r = call({ id: id++, method: 'addEvent', arg: lines[i] });
      if (!r.length || r[0].success !== true) throw new Error('addEvent ' + i + ': ' + JSON.stringify(r[0]));
    }
    var last = call({ id: id++, method: 'finish' });
    ms.push(performance.now() - t0);
    if (p === 0) outputs.push(last[0] && last[0].response);
  }
  pagePost({ ms: ms, outputs: outputs });
}
