// Fakes for the host-js unit tests, injected as the `scope` createEngine and startReplay take: a worker that
// records what it is sent and emits what the test says, a manual clock for setTimeout, a Map-backed storage, a
// fetch whose answers the test controls, sendBeacon, document visibility and window listeners.

export class FakeWorker {
  constructor(url, scope) {
    this.url = url;
    this.posted = [];
    this.pings = 0; // liveness pings are counted here, not in `posted`
    this.onmessage = null;
    this.onerror = null;
    this.terminated = false;
    scope.workers.push(this);
  }
  postMessage(m) {
    if (m && m.op === 'ping') return void this.pings++;
    // Structured clone: what the worker gets is a copy, with undefined properties kept.
    this.posted.push(structuredClone(m));
  }
  terminate() {
    this.terminated = true;
  }
  /** Delivers a message from the worker. */
  emit(data) {
    this.onmessage({ data });
  }
  /** The worker's first message. */
  init({ success = true, response, version, protocol = 2 } = {}) {
    const m = { id: undefined, method: 'init', success, protocol, version };
    if (response !== undefined) m.response = response;
    this.emit(m);
  }
  ops() {
    return this.posted.map((m) => m.op);
  }
}

export class FakeStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
    this.sets = [];
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.sets.push([k, v]);
    this.map.set(k, v);
  }
}

export function fakeScope({ version, storage = new FakeStorage(), href = 'https://app.test/page', WorkerClass } = {}) {
  const scope = {
    workers: [],
    warnings: [],
    now: 0,
    timers: [],
    fetches: [],
    beacons: [],
    beaconAnswer: true,
    listeners: new Map(),
    docListeners: new Map(),
    console: { warn: (...a) => scope.warnings.push(a.join(' ')) },
    location: { href },
    sessionStorage: storage,
    setTimeout(fn, ms) {
      const t = { fn, at: scope.now + ms, id: scope.timers.length + 1, done: false };
      scope.timers.push(t);
      return t.id;
    },
    clearTimeout(id) {
      const t = scope.timers.find((x) => x.id === id);
      if (t) t.done = true;
    },
    /** Runs the timers due within `ms`, in time order. */
    advance(ms) {
      const end = scope.now + ms;
      for (;;) {
        const due = scope.timers.filter((t) => !t.done && t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!due) break;
        due.done = true;
        scope.now = due.at;
        due.fn();
      }
      scope.now = end;
    },
    pendingTimers() {
      return scope.timers.filter((t) => !t.done).map((t) => t.at - scope.now);
    },
    /** fetch: each call waits until the test answers it with respond({ok, status, headers}) or fail(). */
    fetch(url, init) {
      let resolve, reject;
      const p = new Promise((a, b) => ((resolve = a), (reject = b)));
      const headers = (h = {}) => ({ get: (k) => Object.entries(h).find(([n]) => n.toLowerCase() === k.toLowerCase())?.[1] ?? null });
      scope.fetches.push({ url, init, respond: (r) => resolve({ status: r.ok ? 200 : 500, ...r, headers: headers(r.headers) }), fail: (e) => reject(e || new TypeError('Failed to fetch')) });
      return p;
    },
    navigator: {
      onLine: true,
      sendBeacon(url, body) {
        scope.beacons.push({ url, body });
        return scope.beaconAnswer;
      },
    },
    document: {
      visibilityState: 'visible',
      addEventListener: (t, fn) => add(scope.docListeners, t, fn),
      removeEventListener: (t, fn) => remove(scope.docListeners, t, fn),
    },
    addEventListener: (t, fn) => add(scope.listeners, t, fn),
    removeEventListener: (t, fn) => remove(scope.listeners, t, fn),
    /** Fires a window event (pagehide, pointerdown…). */
    dispatch(type) {
      for (const fn of [...(scope.listeners.get(type) || [])]) fn({ type });
    },
    setVisibility(state) {
      scope.document.visibilityState = state;
      for (const fn of [...(scope.docListeners.get('visibilitychange') || [])]) fn({ type: 'visibilitychange' });
    },
    listenerCount(type) {
      return (scope.listeners.get(type) || new Set()).size;
    },
    get worker() {
      return scope.workers[scope.workers.length - 1];
    },
  };
  const W = WorkerClass || FakeWorker;
  scope.Worker = function (url) {
    return new W(url, scope);
  };
  scope.version = version;
  return scope;
}

function add(map, t, fn) {
  if (!map.has(t)) map.set(t, new Set());
  map.get(t).add(fn);
}
function remove(map, t, fn) {
  if (map.has(t)) map.get(t).delete(fn);
}

/** Lets pending promise callbacks run (fetch answers, deferred failures). */
export const settle = () => new Promise((r) => setImmediate(r));

export const bytes = (...a) => new Uint8Array(a);

/** `p`'s value, or a failure saying it did not settle (a promise that stays pending would hang an app). */
export function settles(p, what = 'ready') {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle`)), 1000)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
