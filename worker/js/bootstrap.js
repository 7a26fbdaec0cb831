// ringflate worker bootstrap. The build wraps this file, together with the
// wasm-bindgen glue (`glue()` returns a fresh copy of it), in one function scope
// and fills in the atob() argument with the deflated, base64-encoded module.
//
// Start-up contract (Sentry's host has no timeout):
// - messages that arrive before the engine is ready are queued and handled in
//   arrival order right after the first message;
// - the first message is always posted: success once the module is running,
//   or success:false with what to change when it cannot start (for example a
//   CSP sent with this file that forbids WebAssembly); from then on every
//   message with an id is answered, so nothing waits forever.

// Filled in by the build: the engine protocol version (worker/src/engine/protocol.rs)
// and the package version (host-js/package.json).
var PROTOCOL = __RINGFLATE_PROTOCOL__;
var VERSION = '__RINGFLATE_VERSION__';

var queue = [];
var handle = null;
// The compiled module and the glue of its current instance. A trap inside the
// module, the end of a replay, or an idle engine holding much memory after a
// large event makes a new instance (WebAssembly memory never shrinks otherwise).
var module = null;
var E = null;
var lastStart = null; // the last `start`, and the latest session value posted
var lastSession = null;
var again = null; // the `start` that restarts the engine in a new instance
var lastSeq = null; // the `seq` of the last `events` message the current instance received
var ended = false;
var sentryUsed = false;
var MEMORY = 67108864; // 64 MiB
var wakeTimer = null;
var cspViolation = null;

self.addEventListener('securitypolicyviolation', function (e) {
  cspViolation = e;
});

self.onmessage = function (e) {
  if (handle) handle(e.data);
  else queue.push(e.data);
};

function post(id, method, success, response) {
  postMessage({ id: id, method: method, success: success, response: response });
}

// The first message: Sentry's readiness message, with the engine protocol and package versions.
function postInit(success, reason) {
  postMessage({ id: undefined, method: 'init', success: success, response: reason, protocol: PROTOCOL, version: VERSION });
}

function replyError(data, text) {
  if (data !== null && typeof data === 'object' && data.id !== undefined) {
    post(data.id, data.method, false, text);
  }
}

// Engine mode (worker/PROTOCOL.md): messages with an `rf` property. The core
// is driven by (message, now); it says when its timers are next due and this
// script calls it back then.
function isEngine(data) {
  return data !== null && typeof data === 'object' && 'rf' in data;
}

var wakeAt = null;
var NO_RANDOM = new Uint8Array(0);

// One timer for the engine's next wake-up, re-armed only when the time changes.
function schedule(at) {
  if (typeof at !== 'number') at = null;
  if (at === wakeAt && (wakeTimer !== null || at === null)) return;
  if (wakeTimer !== null) clearTimeout(wakeTimer);
  wakeTimer = null;
  wakeAt = at;
  if (at === null) return;
  wakeTimer = setTimeout(function () {
    wakeTimer = null;
    wakeAt = null;
    engineCall(function () {
      return E.onEngineTick(Date.now());
    }, null);
  }, Math.min(Math.max(0, at - Date.now()), 2147483647));
}

function engineRejected(data, code, message, seq) {
  var op = isEngine(data) && typeof data.op === 'string' ? data.op : null;
  var m = { rf: 1, op: 'rejected', of: op, code: code, message: message };
  // A trap: the host completes the trapped instance's open segment from what it kept, up to this batch.
  if (code === 'internal') m.seq = seq;
  postMessage(m);
}

function engineCall(fn, data) {
  try {
    schedule(fn());
  } catch (err) {
    engineRejected(data, 'internal', 'ringflate: internal error: ' + String((err && err.message) || err), lastSeq);
    // A start that traps again is not retried.
    return restart(data !== again, true);
  }
  if (ended || (!again && !sentryUsed && E.engineMemory() > MEMORY && E.engineIdle())) restart(!ended);
}

// A new instance of the compiled module. `resume`: start the engine again from
// the last `start` with the latest session value (the replay goes on with its
// next segment), then ask for a checkout. `trapped`: the new instance takes
// over the trapped one's records under an owner of its own, as a new worker
// takes over a dead one's (its unsent segments, its buffer generations).
function restart(resume, trapped) {
  ended = false;
  lastSeq = null;
  if (trapped) {
    dead.push(OWNER);
    OWNER = 'ringflate:' + Math.random();
    locked = false;
  }
  try {
    instantiate();
  } catch (err) {
    return;
  }
  if (pending === true) pending = null;
  if (resume && lastStart) {
    again = {};
    for (var k in lastStart) again[k] = lastStart[k];
    again.session = lastSession;
    engineMessage(again);
  }
}

function instantiate() {
  E = glue();
  E.initSync({ module: module });
}

// What the engine posts: the session value it last gave (a partial's counts
// too: its segment is the host's), and whether the replay ended. The restart's
// own `started` is not posted.
var post0 = postMessage;
self.postMessage = function (m, t) {
  if (m && m.rf === 1) {
    if (m.op === 'session') lastSession = m.value;
    if (m.op === 'partial') lastSession = m.session;
    if (m.op === 'stopped') ended = true;
    if (m.op === 'started' && again) return;
  }
  post0.call(self, m, t);
};

// typeof codes shared with wasm.rs (TYPES).
var TYPE_CODES = { undefined: 0, number: 1, string: 2, boolean: 3, object: 4, bigint: 6, symbol: 7, function: 8 };
function typeCode(v) {
  return v === null ? 5 : TYPE_CODES[typeof v];
}

// Sentry's protocol, one call into the engine per message; the reply is built here.
function sentry(data) {
  sentryUsed = true;
  var isObject = data !== null && typeof data === 'object';
  var id = isObject ? data.id : undefined;
  var method = isObject ? data.method : undefined;
  var arg = isObject ? data.arg : undefined;
  var code;
  try {
    code = E.sentryCall(
      isObject,
      typeCode(id),
      typeof method === 'string' ? method : undefined,
      typeCode(method),
      typeof arg === 'string' ? arg : undefined,
      typeCode(arg)
    );
  } catch (err) {
    replyError(data, 'ringflate: internal error: ' + String((err && err.message) || err));
    return restart(false);
  }
  if (code === 1) {
    post(id, method, true, undefined);
  } else if (code === 2) {
    var bytes = E.sentryBytes();
    postMessage({ id: id, method: method, success: true, response: bytes }, [bytes.buffer]);
  } else if (code === 3) {
    post(id, method, false, E.sentryText());
  } else {
    console.warn(E.sentryText());
  }
}

// Liveness: `ping` is answered here, whatever state the engine is in.
// Persistence (engine mode only, so the Sentry drop-in never opens a database):
// IndexedDB, opened on the first engine message and read whole before the core
// handles it. The core decides what is kept; perform() carries out its requests,
// one transaction per engine call. A Web Lock held for this page load's life
// tells other page loads that its records are not left over. Storage that
// fails → memory only, one console.warn.
var db = null;
var pending = null; // engine messages waiting for the store to be read; true once it was
var OWNER = 'ringflate:' + Math.random();
var locked = false;
var dead = []; // owners of trapped instances: their records are left over

function noStore(err) {
  if (db !== false) console.warn('ringflate: no persistent storage (IndexedDB), recordings are kept in memory only: ' + String((err && err.message) || err));
  db = false;
}

function result(r) {
  return new Promise(function (ok, no) {
    r.onsuccess = function () { ok(r.result); };
    r.onerror = function () { no(r.error); };
  });
}

// ops: flat (op, key, bytes) triples: 0 put, 1 delete, 2 clear.
function perform(ops) {
  if (!db) return;
  try {
    var t = db.transaction('r', 'readwrite');
    var s = t.objectStore('r');
    t.onabort = function () { noStore(t.error); };
    for (var i = 0; i < ops.length; i += 3) {
      if (ops[i] === 0) s.put(ops[i + 2], ops[i + 1]);
      else if (ops[i] === 1) s.delete(ops[i + 1]);
      else s.clear();
    }
  } catch (err) {
    noStore(err);
  }
}

function openStore() {
  var locks = (self.navigator || {}).locks;
  if (locks && !locked) locks.request(OWNER, function () { return new Promise(function () {}); });
  locked = true;
  return Promise.all([
    new Promise(function (ok, no) {
      var r = indexedDB.open('ringflate', 1);
      r.onupgradeneeded = function () { r.result.createObjectStore('r'); };
      r.onblocked = no;
      result(r).then(ok, no);
    }).then(function (d) {
      var s = d.transaction('r').objectStore('r');
      return Promise.all([d, result(s.getAllKeys()), result(s.getAll())]);
    }),
    locks ? locks.query().then(function (q) { return q.held.map(function (l) { return l.name; }).filter(function (n) { return dead.indexOf(n) < 0; }); }) : []
  ]).then(function (r) {
    db = r[0][0];
    r[0][1].forEach(function (k, i) { E.engineRecord(k, r[0][2][i]); });
    E.engineLoad(r[1].join('\n'), OWNER, Date.now(), perform);
  }).catch(noStore);
}

function engineMessage(data) {
  if (pending === true) return engineHandle(data);
  if (pending) return pending.push(data);
  pending = [data];
  openStore().then(function () {
    var q = pending;
    pending = true;
    // After a restart (a trap) the rest waits for the new instance's store.
    for (var i = 0; i < q.length; i++) (pending === true ? engineHandle : engineMessage)(q[i]);
  });
}

function engineHandle(data) {
  if (data.op === 'start') lastStart = data;
  if (data.op === 'events' && typeof data.seq === 'number') lastSeq = data.seq;
  engineCall(function () {
    // Only `start` uses randomness (the replay id).
    var random = data.op === 'start' ? crypto.getRandomValues(new Uint8Array(16)) : NO_RANDOM;
    return E.onEngineMessage(data, Date.now(), random);
  }, data);
  if (data === again) {
    again = null;
    postMessage({ rf: 1, op: 'checkout' });
  }
}

function ready(fn) {
  handle = function (data) {
    if (isEngine(data) && data.rf === 1 && data.op === 'ping') postMessage({ rf: 1, op: 'pong' });
    else fn(data);
  };
  var q = queue;
  queue = null;
  for (var i = 0; i < q.length; i++) handle(q[i]);
}

function wasmBytes() {
  var bin = atob('__RINGFLATE_WASM__');
  var bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Response(
    new Response(bytes).body.pipeThrough(new DecompressionStream('deflate-raw'))
  ).arrayBuffer();
}

function explain(err) {
  var said = String((err && err.message) || err);
  if (typeof WebAssembly !== 'object') {
    return 'ringflate: WebAssembly is not available in this worker (disabled by the browser or its settings); the SDK keeps events uncompressed.';
  }
  if (cspViolation || /Content Security|unsafe-eval|wasm-eval|blocked by CSP/i.test(said)) { // Firefox: "… blocked by CSP"
    return "ringflate: the Content Security Policy sent with the worker file forbids compiling WebAssembly. Add 'wasm-unsafe-eval' to the script-src of the CSP header served with ringflate-worker.js (for example: script-src 'self' 'wasm-unsafe-eval'); the page's own CSP does not need it. Browser said: " + said;
  }
  if (typeof DecompressionStream !== 'function') {
    return 'ringflate: this browser lacks DecompressionStream (needs Chrome 80, Firefox 113, Safari 16.4 or later). Browser said: ' + said;
  }
  return 'ringflate: the WebAssembly engine failed to start. Browser said: ' + said;
}

Promise.resolve()
  .then(wasmBytes)
  .then(function (buf) {
    return WebAssembly.compile(buf);
  })
  .then(function (m) {
    module = m;
    instantiate();
  })
  .then(
    function () {
      postInit(true, undefined);
      ready(function (data) {
        if (isEngine(data)) engineMessage(data);
        else sentry(data);
      });
    },
    function (err) {
      var reason = explain(err);
      postInit(false, reason);
      // Also in the worker's console, where a developer looking at the CSP will see it.
      console.warn(reason);
      ready(function (data) {
        if (isEngine(data)) engineRejected(data, 'unavailable', reason);
        else replyError(data, reason);
      });
    }
  );
