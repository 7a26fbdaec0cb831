// @ts-check
// The engine core: the page side of the engine protocol, shared by every host (API and behaviour: core.d.ts;
// messages: protocol.d.ts and worker/PROTOCOL.md). The worker decides sampling, destinations and segments;
// this module only carries messages, keeps what the worker asked it to keep, and answers error sampling from
// the draws the worker handed over in advance. It also watches that the worker answers (and replaces one that
// does not), and frames the open segment for delivery on unload (`partial()`).
import { VERSION } from './version.js';

export { VERSION };

/** @typedef {import('./core').Engine} Engine */
/** @typedef {import('./core').EngineError} EngineError */
/** @typedef {import('./core').Ready} Ready */
/** @typedef {import('./protocol').HostMessage} HostMessage */
/** @typedef {import('./protocol').PartialMessage} PartialMessage */

/**
 * @param {import('./core').EngineOptions} o
 * @param {import('./core').Scope} [scope]
 * @returns {Engine}
 */
export function createEngine(o, scope = /** @type {any} */ (globalThis)) {
  const batchMs = o.batchMs === undefined ? 250 : o.batchMs;
  const key = o.storageKey || 'ringflateSession';
  const storage = o.storage !== undefined ? o.storage : sessionStore(scope);
  // Unset options are left out rather than sent as undefined.
  const config = JSON.parse(JSON.stringify(o.config || {}));
  /** @type {object[]} */
  let batch = [];
  /** @type {unknown} */
  let timer = 0;
  /** @type {boolean[]} */
  let draws = [];
  /** @type {import('./protocol').Mode} */
  let mode = 'off';
  /** @type {string | undefined} */
  let replayId;
  let begun = false; // a `start` was posted: other messages may follow it
  let live = false; // between `started` and `stopped`
  let ended = false; // stop() was called, or the worker failed
  let inited = false;
  let failed = false;
  /** @type {PartialMessage | null} */
  let open = null;
  /** @type {Uint8Array[]} */
  let chunks = [];
  let seq = 0;
  /** @type {[number, string, number][]} `events` posted (seq, json, count) that no partial has reported yet */
  let unseen = [];
  // What an unload left unsent and unreported (see `partial`), from the previous page of this tab.
  const tailKey = key + 'Tail';
  /** @type {{ r: string, s: number, n: number, b: [number, string, number][] } | null} */
  let tail = null;
  let kept = false;
  let forgotten = false;
  // Liveness: `watched` once the worker answered a ping (an older worker file never does, so it is not watched).
  let watched = false;
  let heard = false;
  let misses = 0;
  let stale = false; // the open segment was delivered on unload: the next event starts a fresh worker
  let revived = false; // a replacement worker is starting: the recorder gives it a checkout
  /** @type {unknown} */
  let pinger = 0;
  const delivered = new Set();
  const accepted = new Set();
  const said = new Set();
  /** @type {(r: Ready) => void} */
  let settle = () => {};
  /** @type {Promise<Ready>} */
  const ready = new Promise((resolve) => (settle = resolve));
  /** @type {import('./core').EngineWorker | null} */
  let worker = null;

  /** @param {HostMessage} m */
  const post = (m) => {
    if (worker && begun) worker.postMessage(m);
  };

  /** @param {string} message @param {import('./protocol').RejectCode} [code] */
  const error = (message, code) => {
    /** @type {EngineError} */
    const e = new Error(message);
    if (code) e.code = code;
    // Once per cause: the same text is one cause.
    if (!said.has(message) && o.onError) o.onError(e);
    said.add(message);
    return e;
  };

  /** @param {string} message */
  const fail = (message) => {
    if (failed) return;
    failed = ended = true;
    live = false;
    mode = 'off';
    settle({ replayId: undefined, mode: 'off', error: error(message) });
    if (worker) worker.terminate();
    worker = null;
  };

  /** @param {string} k @param {string} value '' for none */
  const store = (k, value) => {
    try {
      if (storage) storage.setItem(k, value);
    } catch {
      // A full or refused store only loses continuity across reloads.
    }
  };
  /** @param {string} value */
  // After forget() nothing is stored again (the worker's answer to the stop may still bring a value).
  const persist = (value) => store(key, forgotten ? '' : value);
  try {
    tail = JSON.parse(/** @type {any} */ (storage).getItem(tailKey));
  } catch {
    // none
  }

  /** @param {string} json @param {number} n events in it */
  const postEvents = (json, n) => {
    // Session mode: kept until a partial reports it, for the unload body and for a replacement worker.
    if (mode === 'session') unseen.push([++seq, json, n]);
    post({ rf: 1, op: 'events', json, seq });
  };

  const flushBatch = () => {
    scope.clearTimeout(timer);
    timer = 0;
    // While a replacement worker starts, events wait in the batch.
    if (batch.length && live) {
      postEvents(JSON.stringify(batch), batch.length);
      batch = [];
    }
  };

  // Every 500 ms while a replay runs; no message for 1,000 ms after a ping replaces the worker.
  const ping = () => {
    misses = heard ? 0 : misses + 1;
    heard = false;
    if (!live) return;
    if (watched && misses > 1) respawn('ringflate: the worker stopped answering and was replaced');
    else post({ rf: 1, op: 'ping' });
    pinger = scope.setTimeout(ping, 500);
  };

  // A new worker from the same URL, started again with the stored session value: the replay continues with its
  // next segment id. The old one's open segment is completed here and handed to `onRescue`, as on unload (or,
  // without onRescue, what no partial had reported is posted again once the new one has started).
  /** @param {string} [why] */
  const respawn = (why) => {
    if (why) error(why), rescueOpen();
    if (worker) worker.terminate();
    // Nothing is posted to the new worker before its `start`.
    live = inited = watched = stale = begun = false;
    revived = true;
    open = null;
    spawn();
  };

  // The open segment of a worker (or instance) that is gone, completed here as on unload (its partials and the
  // batches in `unseen`) and handed to `onRescue`; null without onRescue or without a partial of it.
  const rescueOpen = () => {
    const p = o.onRescue && engine.partial();
    if (p) engine.delivered(p), (stale = false), /** @type {any} */ (o.onRescue)(p);
    return p;
  };

  // A trap: the batches after `upto` are the new instance's; the open segment is completed from those up to it,
  // or, with no partial of it yet, they are posted again.
  /** @param {number} upto */
  const trapped = (upto) => {
    flushBatch();
    const later = unseen.filter((b) => b[0] > upto);
    unseen = unseen.filter((b) => b[0] <= upto);
    const again = rescueOpen() ? [] : unseen;
    unseen = later;
    for (const b of again) postEvents(b[1], b[2]);
  };

  // The next error draw (see `Engine.draw`); nothing is posted.
  const draw = () => !ended && mode !== 'off' && (mode === 'session' || !!draws.shift());

  const start = () => {
    if (ended || live) return;
    /** @type {string | null} */
    let session = null;
    try {
      session = storage ? storage.getItem(key) : null;
    } catch {
      // Unreadable: a new replay.
    }
    /** @type {import('./protocol').StartMessage} */
    const m = { rf: 1, op: 'start', config, session };
    const url = o.url || (scope.location && scope.location.href);
    if (url) m.url = url;
    begun = true;
    post(m);
  };

  /** @param {{ data: import('./protocol').WorkerMessage }} event */
  const onMessage = ({ data }) => {
    heard = true;
    if ('method' in data) {
      // The worker's first message (Sentry's readiness message).
      inited = true;
      if (data.version !== VERSION) {
        scope.console.warn(
          `ringflate: the worker file is version ${data.version || 'unknown (older)'} and this host script ${VERSION}: serve both from one ringflate version`,
        );
      }
      if (data.success) start();
      else fail(data.response || 'ringflate: the worker could not start');
      return;
    }
    switch (data.op) {
      case 'started': {
        live = true;
        replayId = data.replayId;
        mode = data.mode;
        draws = data.draws.slice();
        settle({ replayId, mode });
        // The previous page's unsent tail (what the segment the worker handed over lacks), then what a replaced
        // worker had not reported.
        const again = [...(tail && tail.r === replayId ? tail.b : []), ...unseen];
        if (tail) store(tailKey, ''), (tail = null);
        unseen = [];
        for (const b of again) postEvents(b[1], b[2]);
        flushBatch();
        scope.clearTimeout(pinger);
        ping();
        if (o.onStarted) o.onStarted(data);
        // Only the host knows the worker was replaced (a reload's recorder takes its own snapshot), so the
        // continued replay's next segment gets its checkout from here.
        if (revived && o.onCheckout) o.onCheckout();
        revived = false;
        break;
      }
      case 'pong':
        watched = true;
        break;
      case 'draws':
        draws.push(...data.draws);
        break;
      case 'session':
        persist(data.value);
        break;
      case 'checkout':
        if (o.onCheckout) o.onCheckout();
        break;
      case 'pause':
        if (o.onPause) o.onPause();
        break;
      case 'stopped':
        live = false;
        mode = 'off';
        open = null;
        if (o.onStopped) o.onStopped(data.reason);
        break;
      case 'partial':
        if (!open || open.segmentId !== data.segmentId) chunks = [];
        chunks.push(data.chunk);
        open = data;
        unseen = unseen.filter((b) => b[0] > data.seq);
        break;
      case 'segment': {
        const mine = open && open.segmentId === data.segmentId;
        // A segment of this replay holds, after what its last partial reported, the next batches the host
        // posted (by their event counts): they are no longer the host's to deliver.
        if (live && data.replayId === replayId) cover(unseen, data.eventCount - (mine ? /** @type {PartialMessage} */ (open).eventCount : 0));
        if (mine) open = null;
        // The previous page's open segment, from the worker's store: the batches it holds are not posted again.
        if (tail && tail.r === data.replayId && tail.s === data.segmentId) cover(tail.b, data.eventCount - tail.n);
        // Once per segment: a replacement worker hands over again what the old one kept unsent.
        const id = data.replayId + '/' + data.segmentId;
        if (accepted.has(id)) engine.sent(data);
        else if (!delivered.has(id) && o.onSegment) o.onSegment(data);
        delivered.add(id);
        break;
      }
      case 'rejected':
        error(data.message, data.code);
        // A trap: the worker goes on in a new instance with the next segment. The trapped instance's open
        // segment is completed here (what its partials streamed and the batches up to `seq`, which it had
        // received), as for a replaced worker; the batches after `seq` are the new instance's.
        if (data.code === 'internal' && mode === 'session') trapped(/** @type {import('./protocol').TrapMessage} */ (data).seq || 0);
        break;
    }
  };

  function spawn() {
    try {
      worker = new scope.Worker(o.workerUrl);
      worker.onmessage = onMessage;
      worker.onerror = (e) =>
        fail(
          'ringflate: the worker ' +
            (inited ? 'failed' : `file did not load from ${o.workerUrl} (check workerUrl and the page's worker-src)`) +
            (e && e.message ? ': ' + e.message : ''),
        );
    } catch (e) {
      const tt = scope.trustedTypes;
      const err = /** @type {Error} */ (e);
      const hint =
        tt && err.name === 'TypeError' && !tt.isScriptURL(o.workerUrl)
          ? ": this page enforces Trusted Types, so workerUrl must be a TrustedScriptURL (ringflate's README shows a one-line policy)"
          : '';
      // Reported after startReplay has returned, like every other failure.
      Promise.resolve().then(() => fail(`ringflate: the worker could not be created${hint}. Browser said: ${err.message}`));
    }
  }
  spawn();

  /** @type {Engine} */
  const engine = {
    get replayId() {
      return replayId;
    },
    get mode() {
      return mode;
    },
    ready,
    add(events) {
      if (ended || mode === 'off') return;
      // The page lives on (back/forward cache): its worker has everything, nothing is left for the next page.
      if (kept) store(tailKey, ''), (kept = false);
      // Back from the back/forward cache after an unload delivery: the old worker's open segment is already sent.
      if (stale) respawn();
      for (const e of events) batch.push(e);
      // One message per batch window: posting is the main thread's largest cost per event.
      if (!timer) timer = scope.setTimeout(flushBatch, batchMs);
    },
    draw,
    error(eventId, sampled = draw()) {
      if (ended || mode === 'off') return false;
      // A sampled error turns the buffer into a recorded session (the worker sends the history).
      if (sampled) mode = 'session';
      flushBatch();
      /** @type {import('./protocol').ErrorMessage} */
      const m = { rf: 1, op: 'error', sampled };
      if (eventId) m.eventId = eventId;
      post(m);
      return sampled;
    },
    trace(traceId) {
      if (!ended && mode !== 'off') post({ rf: 1, op: 'trace', traceId });
    },
    hidden(hidden) {
      if (hidden) flushBatch();
      post({ rf: 1, op: 'hidden', hidden });
    },
    resume() {
      post({ rf: 1, op: 'resume' });
    },
    restart: start,
    flush() {
      flushBatch();
      post({ rf: 1, op: 'flush' });
    },
    stop() {
      if (ended) return;
      flushBatch();
      ended = true;
      scope.clearTimeout(pinger);
      post({ rf: 1, op: 'stop' });
      if (!begun) settle({ replayId: undefined, mode: 'off', error: new Error('ringflate: stopped before the replay started') });
    },
    partial() {
      flushBatch();
      // Kept in the tab's storage in case this body is not sent: the next page posts what the worker's stored
      // copy of the segment lacks (`delivered` clears it).
      if (unseen.length) {
        kept = true;
        store(tailKey, JSON.stringify({ r: replayId, s: open ? open.segmentId : -1, n: open ? open.eventCount : 0, b: unseen }));
      }
      if (!open) return null;
      const p = open;
      // The events the worker has not streamed yet, appended as stored blocks (see unloadBody).
      const text = unseen
        .filter((b) => b[0] > p.seq)
        .map((b) => b[1].slice(1, -1))
        .join(',');
      const body = unloadBody(p, chunks, (text && p.eventCount ? ',' : '') + text);
      return { replayId: /** @type {string} */ (replayId), segmentId: p.segmentId, body, url: p.url, replayEvent: p.replayEvent, session: p.session };
    },
    delivered(sent) {
      delivered.add(sent.replayId + '/' + sent.segmentId);
      store(tailKey, '');
      persist(sent.session);
      if (open && open.segmentId === sent.segmentId) {
        open = null;
        unseen = [];
        stale = true;
      }
    },
    sent(s) {
      accepted.add(s.replayId + '/' + s.segmentId);
      // Also before `start`: the worker deletes its copy whatever its state.
      if (worker) worker.postMessage({ rf: 1, op: 'sent', replayId: s.replayId, segmentId: s.segmentId });
    },
    forget() {
      forgotten = true;
      engine.stop();
      post({ rf: 1, op: 'forget' });
      store(key, '');
      store(tailKey, '');
    },
  };
  return engine;
}

/**
 * The open segment as a complete body: the worker's `head` and chunks (a byte-aligned deflate stream after its
 * sync flush), then `text` — the events the worker has not streamed yet — in stored blocks, a final stored
 * block `]`, and the Adler-32 updated over those bytes. An envelope's `length` (of the recording item, the last
 * `"length":` in the head) grows by what replaces the worker's tail.
 * @param {PartialMessage} p @param {Uint8Array[]} chunks @param {string} text
 */
export function unloadBody(p, chunks, text) {
  const t = new TextEncoder().encode(text + ']');
  /** @type {Uint8Array[]} */
  const parts = [];
  const n = t.length - 1;
  for (let i = 0; i < n; i += 65535) {
    const k = Math.min(65535, n - i);
    parts.push(Uint8Array.of(0, k, k >> 8, ~k, ~k >> 8), t.subarray(i, i + k));
  }
  parts.push(Uint8Array.of(1, 1, 0, 254, 255));
  let a = p.adler & 65535;
  let b = p.adler >>> 16;
  for (const x of t) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  parts.push(t.subarray(n), Uint8Array.of(b >> 8, b, a >> 8, a));
  const end = concat(parts);
  let head = p.head;
  const h = String.fromCharCode.apply(null, /** @type {any} */ (head));
  const at = h.lastIndexOf('"length":') + 9;
  if (at > 8) {
    const digits = /** @type {RegExpExecArray} */ (/^\d+/.exec(h.slice(at)))[0];
    head = concat([head.subarray(0, at), new TextEncoder().encode(String(+digits - p.tail.length + end.length)), head.subarray(at + digits.length)]);
  }
  return concat([head, ...chunks, end]);
}

/** @param {Uint8Array[]} parts */
function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/**
 * Drops from the front of `list` the batches (seq, json, count) that `n` events cover, whole batches only.
 * @param {[number, string, number][]} list @param {number} n
 */
function cover(list, n) {
  while (list.length && list[0][2] <= n) n -= /** @type {[number, string, number]} */ (list.shift())[2];
}

/** @param {import('./core').Scope} scope */
function sessionStore(scope) {
  try {
    return scope.sessionStorage || null;
  } catch {
    return null; // e.g. a sandboxed frame
  }
}
