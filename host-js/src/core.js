// @ts-check
// The engine core: the page side of the engine protocol, shared by every host (API and behaviour: core.d.ts;
// messages: protocol.d.ts and worker/PROTOCOL.md). The worker decides sampling, destinations and segments;
// this module only carries messages, keeps what the worker asked it to keep, and answers error sampling from
// the draws the worker handed over in advance.
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
  const delivered = new Set();
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

  /** @param {string} value */
  const persist = (value) => {
    try {
      if (storage) storage.setItem(key, value);
    } catch {
      // A full or refused store only loses continuity across reloads.
    }
  };

  const flushBatch = () => {
    scope.clearTimeout(timer);
    timer = 0;
    if (batch.length) {
      const json = JSON.stringify(batch);
      batch = [];
      post({ rf: 1, op: 'events', json });
    }
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
    if ('method' in data) {
      // The worker's first message (Sentry's readiness message).
      inited = true;
      if (data.version !== VERSION) {
        scope.console.warn(
          `ringflate: the worker file is version ${data.version || 'unknown (older)'} and this host script ${VERSION}: serve the worker file from the same ringflate package version`,
        );
      }
      if (data.success) start();
      else fail(data.response || 'ringflate: the worker could not start');
      return;
    }
    switch (data.op) {
      case 'started':
        live = true;
        replayId = data.replayId;
        mode = data.mode;
        draws = data.draws.slice();
        settle({ replayId, mode });
        if (o.onStarted) o.onStarted(data);
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
        break;
      case 'segment':
        if (open && open.segmentId === data.segmentId) open = null;
        if (!delivered.has(data.replayId + '/' + data.segmentId) && o.onSegment) o.onSegment(data);
        break;
      case 'rejected':
        error(data.message, data.code);
        break;
    }
  };

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

  return {
    get replayId() {
      return replayId;
    },
    get mode() {
      return mode;
    },
    ready,
    add(events) {
      if (ended || mode === 'off') return;
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
      post({ rf: 1, op: 'stop' });
      if (!begun) settle({ replayId: undefined, mode: 'off', error: new Error('ringflate: stopped before the replay started') });
    },
    partial() {
      if (!open) return null;
      const parts = [open.head, ...chunks, open.tail];
      const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        body.set(p, at);
        at += p.length;
      }
      return { segmentId: open.segmentId, body, url: open.url, replayEvent: open.replayEvent, session: open.session };
    },
    delivered(sent) {
      delivered.add(replayId + '/' + sent.segmentId);
      persist(sent.session);
      if (open && open.segmentId === sent.segmentId) open = null;
    },
  };
}

/** @param {import('./core').Scope} scope */
function sessionStore(scope) {
  try {
    return scope.sessionStorage || null;
  } catch {
    return null; // e.g. a sandboxed frame
  }
}
