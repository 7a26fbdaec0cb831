// worker/js/bootstrap.js in node:vm, as the build wraps it, with a fake worker scope, a fake `WebAssembly.compile`
// and a fake `wasm_bindgen` glue (what `glue()` returns):
// queueing before the engine is ready, the first message (success and failure), the console warning on refusal,
// engine vs Sentry routing, the one wake-up timer, and a call that throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { filledBootstrap, workerSource, versions } from '../../worker/js/fill.mjs';

const { protocol: PROTOCOL, version: VERSION } = versions();
const MODULE = Buffer.from('not really a module');
const SOURCE = workerSource('', filledBootstrap(zlib.deflateRawSync(MODULE).toString('base64')));

/** A copy of a value made in the vm context, with this realm's prototypes (undefined fields kept). */
function plain(v) {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
  if (Array.isArray(v)) return Array.from(v, plain);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

/** Waits (up to 10 s of real time, polling) until `cond()` holds; fails the test otherwise. */
async function until(cond, what) {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

/** Waits until the worker has posted its first message. */
const started = (w) => until(() => w.posted.length > 0, 'the first message was posted');

/**
 * An in-memory IndexedDB with what the bootstrap uses: open (with upgrade), one object store, getAllKeys / getAll
 * in key order, put, delete, clear, transactions that log which requests they held. `fail`: open throws.
 */
function fakeIndexedDB(records = new Map(), { fail } = {}) {
  const log = { opened: 0, transactions: [] };
  const later = (r, fn) => queueMicrotask(() => {
    r.result = fn();
    r.onsuccess?.();
  });
  const sorted = () => [...records.keys()].sort();
  const db = {
    createObjectStore: () => {},
    transaction(name, mode = 'readonly') {
      const ops = [];
      log.transactions.push({ name, mode, ops });
      return {
        objectStore: () => ({
          getAllKeys: () => { const r = {}; later(r, sorted); return r; },
          getAll: () => { const r = {}; later(r, () => sorted().map((k) => records.get(k))); return r; },
          put: (v, k) => { ops.push(['put', k]); records.set(k, v); },
          delete: (k) => { ops.push(['delete', k]); records.delete(k); },
          clear: () => { ops.push(['clear']); records.clear(); },
        }),
      };
    },
  };
  const indexedDB = {
    open: () => {
      log.opened++;
      if (fail) throw new Error(fail);
      const r = {};
      queueMicrotask(() => {
        r.result = db;
        r.onupgradeneeded?.();
        r.onsuccess?.();
      });
      return r;
    },
  };
  return { log, records, indexedDB };
}

/**
 * A worker scope running the bootstrap. `init` decides how instantiation ends: `'ok'`, an Error (rejects), or
 * `'hold'` (pending until `release()`). `engine(data, now, random)` and `tick(now)` are the fake engine's answers.
 */
function worker({ init = 'ok', engine = () => undefined, tick = () => undefined, sentry = () => 1, webAssembly = true,
  idb = fakeIndexedDB(), locks, memory = () => 1 << 20, idle = () => true } = {}) {
  const posted = [];
  const warned = [];
  const timers = new Map();
  const log = { set: 0, cleared: 0, engine: [], sentry: [], ticks: 0, compiled: null, initArg: null, instances: 0, loads: [] };
  let nextTimer = 1;
  let release;
  const held = new Promise((r) => (release = r));
  const answer = { bytes: new Uint8Array(0), text: '' };
  // Compiling: the module is an object holding the bytes it was compiled from.
  const fakeWebAssembly = {
    compile: (bytes) => {
      log.compiled = bytes;
      if (init instanceof Error) return Promise.reject(init);
      return (init === 'hold' ? held : Promise.resolve()).then(() => ({ compiledFrom: bytes }));
    },
  };
  const wasm_bindgen = {};
  wasm_bindgen.initSync = (arg) => {
    log.initArg = arg;
    log.instances++;
  };
  wasm_bindgen.engineMemory = () => memory();
  wasm_bindgen.engineIdle = () => idle();
  wasm_bindgen.onEngineMessage = (data, now, random) => {
    log.engine.push({ data: plain(data), now, random: Array.from(random) });
    return engine(data, now, random, self);
  };
  wasm_bindgen.onEngineTick = (now) => {
    log.ticks++;
    return tick(now);
  };
  wasm_bindgen.sentryCall = (...args) => {
    log.sentry.push(plain(args));
    return sentry(args, answer);
  };
  const records = [];
  wasm_bindgen.engineRecord = (key, value) => records.push([key, Array.from(value)]);
  wasm_bindgen.engineLoad = (live, owner, now, perform) => {
    log.loads.push({ records: records.splice(0), live: live.split('\n'), owner, now, perform });
  };
  wasm_bindgen.sentryBytes = () => answer.bytes;
  wasm_bindgen.sentryText = () => answer.text;
  const self = {
    ...(locks ? { navigator: { locks } } : {}),
    listeners: {},
    addEventListener(type, fn) {
      this.listeners[type] = fn;
    },
  };
  const context = {
    self,
    wasm_bindgen,
    postMessage: (message, transfer) => posted.push({ message: plain(message), transfer: plain(transfer) }),
    setTimeout: (fn, ms) => {
      log.set++;
      const id = nextTimer++;
      timers.set(id, { fn, ms });
      return id;
    },
    clearTimeout: (id) => {
      if (timers.delete(id)) log.cleared++;
    },
    console: { warn: (...a) => warned.push(a.join(' ')) },
    atob,
    Response,
    DecompressionStream,
    crypto,
    Date,
    ...(idb ? { indexedDB: idb.indexedDB } : {}),
    // A browser without WebAssembly has none.
    WebAssembly: webAssembly ? fakeWebAssembly : undefined,
  };
  vm.createContext(context);
  vm.runInContext(SOURCE, context);
  return {
    posted,
    warned,
    timers,
    log,
    release: () => release(),
    send: (data) => self.onmessage({ data }),
    fire: () => {
      const [[id, t]] = [...timers];
      timers.delete(id);
      t.fn();
    },
    self,
  };
}

const init = (success, response) => ({ id: undefined, method: 'init', success, response, protocol: PROTOCOL, version: VERSION });

test('messages before the engine is ready are queued, handled in order after the first message', async () => {
  const w = worker({ init: 'hold' });
  w.send({ rf: 1, op: 'start', config: {} });
  w.send({ id: 1, method: 'addEvent', arg: '{}' });
  w.send({ rf: 1, op: 'flush' });
  // The module is decoded and instantiation has begun (held): nothing is handled yet.
  await until(() => w.log.compiled !== null, 'compiling began');
  assert.deepEqual(w.posted, [], 'nothing before the engine is ready');
  assert.deepEqual(w.log.engine, []);
  assert.ok(Buffer.from(w.log.compiled).equals(MODULE), 'the inlined module, inflated');
  w.release();
  await started(w);
  assert.deepEqual(w.posted[0].message, init(true, undefined));
  assert.deepEqual(Object.keys(w.posted[0].message), ['id', 'method', 'success', 'response', 'protocol', 'version']);
  assert.equal(w.log.instances, 1, 'one instance of the compiled module');
  assert.ok(Buffer.from(w.log.initArg.module.compiledFrom).equals(MODULE), 'instantiated from the compiled module');
  await until(() => w.log.engine.length === 2, 'the engine messages were handled once the store was read');
  assert.deepEqual(w.log.engine.map((c) => c.data.op), ['start', 'flush']);
  assert.equal(w.log.sentry.length, 1);
  assert.deepEqual(w.posted.slice(1).map((p) => p.message), [{ id: 1, method: 'addEvent', success: true, response: undefined }]);
  // Only start gets random bytes (16 of them).
  assert.equal(w.log.engine[0].random.length, 16);
  assert.equal(w.log.engine[1].random.length, 0);
  assert.equal(w.warned.length, 0);
});

test('when WebAssembly is refused: the first message says why, one console warning, every message answered', async () => {
  const w = worker({ init: new Error('WebAssembly.instantiate(): Refused to compile or instantiate WebAssembly module because neither \'wasm-eval\' nor \'unsafe-eval\' is an allowed source of script in the following Content Security Policy directive') });
  w.send({ rf: 1, op: 'start', config: {} });
  w.send({ id: 7, method: 'addEvent', arg: '{}' });
  w.send({ method: 'clear' });
  w.send({ rf: 1, op: 5 });
  await started(w);
  const reason = w.posted[0].message.response;
  assert.deepEqual(w.posted[0].message, init(false, reason));
  assert.ok(reason.startsWith('ringflate: ') && reason.split('ringflate:').length === 2, reason);
  assert.match(reason, /'wasm-unsafe-eval'/);
  assert.match(reason, /script-src/);
  assert.match(reason, /ringflate-worker\.js/, 'says where to add it');
  assert.deepEqual(w.warned, [reason], 'one warning, the same text');
  assert.deepEqual(w.posted.slice(1).map((p) => p.message), [
    { rf: 1, op: 'rejected', of: 'start', code: 'unavailable', message: reason },
    { id: 7, method: 'addEvent', success: false, response: reason },
    { rf: 1, op: 'rejected', of: null, code: 'unavailable', message: reason },
  ]);
  // Later messages too.
  w.send({ rf: 1, op: 'flush' });
  assert.deepEqual(w.posted.at(-1).message, { rf: 1, op: 'rejected', of: 'flush', code: 'unavailable', message: reason });
  assert.deepEqual(w.log.engine, []);
  assert.deepEqual(w.log.sentry, []);
});

test('without WebAssembly at all the reason says so', async () => {
  const w = worker({ init: new Error('WebAssembly is not defined'), webAssembly: false });
  await started(w);
  const reason = w.posted[0].message.response;
  assert.equal(w.posted[0].message.success, false);
  assert.match(reason, /^ringflate: WebAssembly is not available/);
  assert.deepEqual(w.warned, [reason]);
});

test('routing: objects with rf go to the engine, everything else to Sentry with typeof codes', async () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const w = worker({
    sentry: ([isObject, , method], answer) => {
      if (!isObject || method === 'quiet') {
        answer.text = 'ringflate: ignored a message: x';
        return 0;
      }
      if (method === 'finish') {
        answer.bytes = bytes;
        return 2;
      }
      if (method === 'bad') {
        answer.text = 'ringflate: no';
        return 3;
      }
      return 1;
    },
  });
  await started(w);
  w.send({ rf: 1, op: 'events', json: '[]' });
  w.send({ rf: undefined });
  w.send({ id: 1, method: 'addEvent', arg: 'x' });
  w.send({ id: 2, method: 'finish' });
  w.send({ id: 3, method: 'bad', arg: 5 });
  w.send({ method: 'quiet' });
  w.send(null);
  w.send('text');
  await until(() => w.log.engine.length === 2, 'engine messages handled');
  assert.deepEqual(w.log.engine.map((c) => c.data), [{ rf: 1, op: 'events', json: '[]' }, { rf: undefined }]);
  assert.ok(w.log.engine.every((c) => typeof c.now === 'number' && Math.abs(c.now - Date.now()) < 5000));
  assert.deepEqual(w.log.sentry, [
    [true, 1, 'addEvent', 2, 'x', 2],
    [true, 1, 'finish', 2, undefined, 0],
    [true, 1, 'bad', 2, undefined, 1],
    [true, 0, 'quiet', 2, undefined, 0],
    [false, 0, undefined, 0, undefined, 0],
    [false, 0, undefined, 0, undefined, 0],
  ]);
  const replies = w.posted.slice(1);
  assert.deepEqual(replies.map((p) => p.message), [
    { id: 1, method: 'addEvent', success: true, response: undefined },
    { id: 2, method: 'finish', success: true, response: bytes },
    { id: 3, method: 'bad', success: false, response: 'ringflate: no' },
  ]);
  assert.deepEqual(replies[1].transfer, [bytes.buffer], 'the bytes are transferred');
  // Ignored messages (no id, not an object) are reported on the console, never answered.
  assert.deepEqual(w.warned, Array(3).fill('ringflate: ignored a message: x'));
});

test('the wake-up timer is re-armed only when the wake time changes, and calls the engine back', async () => {
  const now = Date.now();
  let next = now + 1000;
  const w = worker({ engine: () => next, tick: () => next });
  await started(w);
  w.send({ rf: 1, op: 'events', json: '[]' });
  await until(() => w.log.engine.length === 1, 'handled');
  assert.equal(w.log.set, 1);
  const [[, t]] = [...w.timers];
  assert.ok(t.ms > 900 && t.ms <= 1000, `delay ${t.ms}`);
  w.send({ rf: 1, op: 'events', json: '[]' });
  w.send({ rf: 1, op: 'hidden', hidden: true });
  assert.equal(w.log.set, 1, 'same wake time: not re-armed');
  assert.equal(w.log.cleared, 0);
  next = now + 5000;
  w.send({ rf: 1, op: 'events', json: '[]' });
  assert.equal(w.log.set, 2);
  assert.equal(w.log.cleared, 1);
  assert.equal(w.timers.size, 1);
  // Firing calls onEngineTick and arms what it returns.
  next = now + 9000;
  w.fire();
  assert.equal(w.log.ticks, 1);
  assert.equal(w.log.set, 3);
  assert.equal(w.timers.size, 1);
  // No wake time: the timer goes.
  next = undefined;
  w.send({ rf: 1, op: 'stop' });
  assert.equal(w.timers.size, 0);
  assert.equal(w.log.cleared, 2);
  w.send({ rf: 1, op: 'stop' });
  assert.equal(w.log.set, 3, 'nothing to arm');
  // A wake time in the past fires at once (delay 0); a far one is capped to what setTimeout accepts.
  next = now - 10;
  w.send({ rf: 1, op: 'flush' });
  assert.equal([...w.timers.values()][0].ms, 0);
  next = now + 1e12;
  w.send({ rf: 1, op: 'flush' });
  assert.equal([...w.timers.values()][0].ms, 2147483647);
});

test('a call that throws is answered: engine messages rejected internal, Sentry messages success:false', async () => {
  const w = worker({
    engine: () => {
      throw new Error('unreachable executed');
    },
    sentry: () => {
      throw new RangeError('boom');
    },
  });
  await started(w);
  w.send({ rf: 1, op: 'events', json: '[]' });
  w.send({ rf: 1, op: 7 });
  w.send({ id: 4, method: 'addEvent', arg: 'x' });
  w.send({ method: 'addEvent', arg: 'x' });
  await until(() => w.posted.length === 4, 'answered');
  assert.deepEqual(w.posted.slice(1).map((p) => p.message), [
    { id: 4, method: 'addEvent', success: false, response: 'ringflate: internal error: boom' },
    { rf: 1, op: 'rejected', of: 'events', code: 'internal', message: 'ringflate: internal error: unreachable executed', seq: null },
    { rf: 1, op: 'rejected', of: null, code: 'internal', message: 'ringflate: internal error: unreachable executed', seq: null },
  ]);
  // The worker keeps working afterwards.
  assert.equal(w.log.engine.length, 2);
});

test('ping is answered pong at once by the bootstrap, after the first message, whatever the engine', async () => {
  const w = worker({ init: 'hold', engine: () => undefined });
  w.send({ rf: 1, op: 'ping' });
  await until(() => w.log.compiled !== null, 'compiling began');
  assert.deepEqual(w.posted, [], 'not before the first message');
  w.release();
  await started(w);
  assert.deepEqual(w.posted.map((p) => p.message), [init(true, undefined), { rf: 1, op: 'pong' }]);
  w.send({ rf: 1, op: 'ping' });
  assert.deepEqual(w.posted.at(-1).message, { rf: 1, op: 'pong' });
  assert.deepEqual(w.log.engine, [], 'the module never sees ping');
  // Not a ping of this protocol version: the engine decides (bad_rf).
  w.send({ rf: 2, op: 'ping' });
  await until(() => w.log.engine.length === 1, 'handled');
  assert.deepEqual(w.log.engine.map((c) => c.data), [{ rf: 2, op: 'ping' }]);
  // An engine that could not start still answers ping (the worker is alive).
  const f = worker({ init: new Error('no') });
  await started(f);
  f.send({ rf: 1, op: 'ping' });
  assert.deepEqual(f.posted.at(-1).message, { rf: 1, op: 'pong' });
});

test('persistence: the store is read whole before the first engine message, requests performed one transaction per call', async () => {
  const records = new Map([['b/s00001', new Uint8Array([2])], ['a/s00000', new Uint8Array([1])]]);
  const idb = fakeIndexedDB(records);
  const held = [];
  const locks = {
    request: (name, fn) => { held.push(name); fn(); },
    query: async () => ({ held: [{ name: 'ringflate:other' }, ...held.map((name) => ({ name }))] }),
  };
  const w = worker({ idb, locks });
  await started(w);
  // Sentry's protocol never opens the database.
  w.send({ id: 1, method: 'addEvent', arg: '{}' });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(idb.log.opened, 0);
  w.send({ rf: 1, op: 'start', config: {} });
  w.send({ rf: 1, op: 'events', json: '[]' });
  assert.deepEqual(w.log.engine, [], 'waits for the store');
  await until(() => w.log.engine.length === 2, 'handled after the store was read');
  assert.equal(idb.log.opened, 1);
  assert.equal(w.log.loads.length, 1);
  const load = w.log.loads[0];
  assert.deepEqual(load.records, [['a/s00000', [1]], ['b/s00001', [2]]], 'every record, in key order');
  assert.match(load.owner, /^ringflate:/);
  assert.deepEqual(held, [load.owner], 'a lock held for this page load');
  assert.deepEqual(load.live, ['ringflate:other', load.owner]);
  // The core's requests, in one readwrite transaction.
  load.perform([0, 'c/s00000', new Uint8Array([9]), 1, 'a/s00000', null, 0, 'c/s00001', new Uint8Array([8])]);
  const t = idb.log.transactions.at(-1);
  assert.equal(t.mode, 'readwrite');
  assert.deepEqual(t.ops, [['put', 'c/s00000'], ['delete', 'a/s00000'], ['put', 'c/s00001']]);
  assert.deepEqual([...records.keys()].sort(), ['b/s00001', 'c/s00000', 'c/s00001']);
  load.perform([2, '', null]);
  assert.equal(records.size, 0);
  assert.equal(idb.log.transactions.length, 3, 'one read, two writes');
  assert.deepEqual(w.warned, []);
});

test('persistence unavailable: memory only, one console.warn, the engine still handles every message', async () => {
  for (const idb of [null, fakeIndexedDB(new Map(), { fail: 'The operation is insecure.' })]) {
    const w = worker({ idb });
    await started(w);
    w.send({ rf: 1, op: 'start', config: {} });
    w.send({ rf: 1, op: 'events', json: '[]' });
    await until(() => w.log.engine.length === 2, 'handled');
    w.send({ rf: 1, op: 'flush' });
    assert.equal(w.log.engine.length, 3, 'at once from then on');
    assert.equal(w.log.loads.length, 0, 'the core is told nothing: memory only');
    assert.equal(w.warned.length, 1, w.warned.join('\n'));
    assert.match(w.warned[0], /^ringflate: no persistent storage \(IndexedDB\), recordings are kept in memory only: /);
    if (idb) assert.match(w.warned[0], /The operation is insecure/);
  }
});

/** A fake engine that posts what the real one would for `start` (through the scope, as the module does). */
function startingEngine(extra = () => undefined) {
  let n = 0;
  return (data, now, random, self) => {
    if (data.op === 'start') {
      n++;
      self.postMessage({ rf: 1, op: 'started', replayId: 'r', mode: 'session', draws: [], segmentId: n });
      self.postMessage({ rf: 1, op: 'session', value: 'session-' + n });
    }
    return extra(data, self);
  };
}

test('a trap: the in-flight message is rejected internal, a new instance restarts the engine from the last start, then a checkout', async () => {
  const held = [];
  const locks = {
    request: (name, fn) => { held.push(name); fn(); },
    query: async () => ({ held: held.map((name) => ({ name })) }),
  };
  const w = worker({
    locks,
    engine: startingEngine((data, self) => {
      if (data.op === 'events' && data.json === 'partial') {
        self.postMessage({ rf: 1, op: 'partial', segmentId: 3, session: 'after-partial' });
      }
      if (data.op === 'events' && data.json === 'trap') throw new Error('unreachable executed');
    }),
  });
  await started(w);
  const start = { rf: 1, op: 'start', config: { sessionSampleRate: 1 }, session: null, url: 'https://shop.test/' };
  w.send(start);
  await until(() => w.log.engine.length === 1, 'started');
  w.send({ rf: 1, op: 'events', json: 'partial', seq: 1 });
  w.send({ rf: 1, op: 'events', json: 'trap', seq: 2 });
  w.send({ rf: 1, op: 'events', json: 'after', seq: 3 });
  await until(() => w.log.engine.length === 5, 'the restart and the message after it');
  assert.equal(w.log.instances, 2, 'a new instance of the same compiled module');
  assert.equal(w.log.initArg.module.compiledFrom, w.log.compiled);
  const ops = w.posted.slice(1).map((p) => p.message.op);
  assert.deepEqual(ops, ['started', 'session', 'partial', 'rejected', 'session', 'checkout']);
  // `seq`: the last batch the trapped instance received (the host completes that instance's open segment up to it).
  assert.deepEqual(w.posted[4].message, { rf: 1, op: 'rejected', of: 'events', code: 'internal', message: 'ringflate: internal error: unreachable executed', seq: 2 });
  // The engine starts again from the last start and the latest session value (a partial's: its segment is the host's).
  assert.deepEqual(w.log.engine[3].data, { ...start, session: 'after-partial' });
  assert.equal(w.log.engine[3].random.length, 16);
  assert.deepEqual(w.log.engine[4].data, { rf: 1, op: 'events', json: 'after', seq: 3 }, 'then the messages after the trap');
  assert.equal(w.log.loads.length, 2, 'the new instance reads the store again');
  // It takes over the trapped instance's records as a new worker takes over a dead one's: an owner of its own,
  // and the trapped one's owner is not live (its lock is still held, but its records are left over).
  const [first, second] = w.log.loads;
  assert.notEqual(second.owner, first.owner);
  assert.deepEqual(held, [first.owner, second.owner], 'a lock for each');
  assert.deepEqual(second.live, [second.owner]);
});

test('a start that traps is not retried; a later trap reports the last batch of its own instance', async () => {
  let traps = 0;
  const w = worker({
    engine: startingEngine((data) => {
      if (data.op === 'start' && data.session === 'session-1' && traps++ === 0) throw new Error('unreachable executed');
      if (data.op === 'events' && data.json === 'trap') throw new Error('unreachable executed');
    }),
  });
  await started(w);
  w.send({ rf: 1, op: 'start', config: {}, session: null });
  await until(() => w.log.engine.length === 1, 'started');
  w.send({ rf: 1, op: 'events', json: 'trap', seq: 7 });
  // The restart's start traps: answered, and not tried again (no loop).
  await until(() => w.posted.filter((p) => p.message.op === 'rejected').length === 2, 'both traps answered');
  await new Promise((r) => setTimeout(r, 30));
  const rejected = w.posted.filter((p) => p.message.op === 'rejected').map((p) => [p.message.of, p.message.seq]);
  assert.deepEqual(rejected, [['events', 7], ['start', null]]);
  assert.equal(w.log.instances, 3, 'one instance per trap, no more');
});

test('memory: a new instance after the replay ends, or when the engine is idle holding over 64 MiB; not for Sentry', async () => {
  let memory = 1 << 20;
  let idle = false;
  const w = worker({
    memory: () => memory,
    idle: () => idle,
    engine: startingEngine((data, self) => {
      if (data.op === 'stop') self.postMessage({ rf: 1, op: 'stopped', reason: 'stop' });
    }),
  });
  await started(w);
  w.send({ rf: 1, op: 'start', config: {} });
  await until(() => w.log.engine.length === 1, 'started');
  memory = 200 << 20;
  w.send({ rf: 1, op: 'events', json: 'big' });
  await until(() => w.log.engine.length === 2, 'handled');
  assert.equal(w.log.instances, 1, 'not while the engine holds an open segment');
  idle = true;
  w.send({ rf: 1, op: 'flush' });
  await until(() => w.log.engine.length === 4, 'restarted');
  assert.equal(w.log.instances, 2, 'idle and over 64 MiB: a new instance');
  assert.equal(w.log.engine[3].data.op, 'start');
  assert.equal(w.log.engine[3].data.session, 'session-1');
  assert.equal(w.posted.at(-1).message.op, 'checkout');
  // The replay ends: a new instance, and no restart.
  memory = 1 << 20;
  w.send({ rf: 1, op: 'stop' });
  await until(() => w.log.instances === 3, 'after stopped');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(w.log.engine.length, 5, 'the ended replay is not started again');
  assert.equal(w.posted.at(-1).message.op, 'stopped');
  // A worker that serves Sentry's protocol keeps its instance (it holds Sentry's stream).
  const s = worker({ memory: () => 200 << 20, idle: () => true });
  await started(s);
  s.send({ id: 1, method: 'addEvent', arg: '{}' });
  s.send({ rf: 1, op: 'flush' });
  await until(() => s.log.engine.length === 1, 'handled');
  assert.equal(s.log.instances, 1);
});
