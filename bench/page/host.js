// The benchmark's host driver. It runs in the page and feeds one contestant
// worker at a time the way Sentry's replay host does: JSON.stringify(event) then
// one postMessage({id, method: 'addEvent', arg}) per event, and a `finish` every
// 5 s of event time (by the events' `timestamp`) and once at the end.
// bench/run.mjs calls window.bench.loadCorpus(id) and window.bench.run(options).

const corpus = { id: null, lines: null, events: null, bytes: 0 };

async function loadCorpus(id) {
  const res = await fetch(`/corpus/${id}.ndjson`);
  if (!res.ok) throw new Error(`corpus ${id}: HTTP ${res.status}`);
  const text = await res.text();
  corpus.id = id;
  corpus.lines = text.split('\n').filter(Boolean);
  corpus.events = corpus.lines.map((l) => JSON.parse(l));
  corpus.bytes = new TextEncoder().encode(`[${corpus.lines.join(',')}]`).length;
  const stringifyOk = corpus.events.every((e, i) => JSON.stringify(e) === corpus.lines[i]);
  return { id, events: corpus.events.length, bytes: corpus.bytes, stringifyOk };
}

/** Start indices of the segments: a new one when `segmentMs` of event time have
 * passed since the first event of the current one. */
function segmentStarts(segmentMs) {
  const starts = [];
  let segStart = -Infinity;
  corpus.events.forEach((e, i) => {
    if (i === 0 || e.timestamp - segStart >= segmentMs) {
      starts.push(i);
      segStart = e.timestamp;
    }
  });
  return starts;
}

/** Starts a worker and resolves once its first message (Sentry's readiness signal) arrives. */
function startWorker(url) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const worker = new Worker(url);
    worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
    worker.onmessage = (e) => {
      const readyMs = performance.now() - t0;
      if (!e.data || e.data.success !== true) {
        reject(new Error(`worker not ready: ${JSON.stringify(e.data && e.data.response)}`));
        return;
      }
      resolve({ worker, readyMs });
    };
  });
}

/** Routes replies by id; `expect(id)` returns a promise for the reply to `id`. */
function router(worker) {
  const waiting = new Map();
  const failures = [];
  let replies = 0;
  worker.onmessage = (e) => {
    const d = e.data;
    const t = performance.now();
    replies++;
    if (!d.success) failures.push(`${d.method} #${d.id}: ${d.response}`);
    const w = waiting.get(d.id);
    if (w) {
      waiting.delete(d.id);
      w({ t, data: d });
    }
  };
  return {
    failures,
    get replies() { return replies; },
    expect: (id) => new Promise((resolve) => waiting.set(id, resolve)),
  };
}

// ------------------------------------------------------------------------------------------------
// Feeders: how a contestant is fed. Each returns { outputs: [{start, end, bytes}], loopMs,
// e2eMs, finishMs: [], failures: [] }, where outputs[k].bytes is the zlib stream covering
// events[start..end). A new way of feeding a worker is one more entry here.
// ------------------------------------------------------------------------------------------------
const feeders = {
  /** Sentry's protocol: one message per event. mode 'stream' posts everything at once (throughput);
   * mode 'paced' waits until the worker has handled a segment's events before posting `finish`,
   * so the finish time is the finish alone. */
  async sentry(worker, { mode, segmentMs }) {
    const r = router(worker);
    const events = corpus.events;
    const starts = segmentStarts(segmentMs);
    const ends = starts.slice(1).concat(events.length);
    let id = 0;
    const outputs = [];
    const finishMs = [];
    if (mode === 'stream') {
      const pending = [];
      const t0 = performance.now();
      for (let s = 0; s < starts.length; s++) {
        for (let i = starts[s]; i < ends[s]; i++) {
          worker.postMessage({ id: id++, method: 'addEvent', arg: JSON.stringify(events[i]) });
        }
        const fid = id++;
        pending.push(r.expect(fid));
        worker.postMessage({ id: fid, method: 'finish' });
      }
      const loopMs = performance.now() - t0;
      const done = await Promise.all(pending);
      const e2eMs = done[done.length - 1].t - t0;
      done.forEach((d, s) => outputs.push({ start: starts[s], end: ends[s], bytes: d.data.response }));
      await settle(r, id);
      return { outputs, loopMs, e2eMs, finishMs, failures: r.failures };
    }
    for (let s = 0; s < starts.length; s++) {
      let last = null;
      for (let i = starts[s]; i < ends[s]; i++) {
        const aid = id++;
        if (i === ends[s] - 1) last = r.expect(aid);
        worker.postMessage({ id: aid, method: 'addEvent', arg: JSON.stringify(events[i]) });
      }
      await last;
      const fid = id++;
      const reply = r.expect(fid);
      const tf = performance.now();
      worker.postMessage({ id: fid, method: 'finish' });
      const d = await reply;
      finishMs.push(d.t - tf);
      outputs.push({ start: starts[s], end: ends[s], bytes: d.data.response });
    }
    await settle(r, id);
    return { outputs, loopMs: NaN, e2eMs: NaN, finishMs, failures: r.failures };
  },

  /** ringflate's engine mode (worker/PROTOCOL.md): the host posts one message per burst,
   * {rf:1, op:'events', json: JSON.stringify(batchOfEvents)}, where a burst is the events of
   * ENGINE_BURST_MS of event time, and {rf:1, op:'flush'} where the Sentry feed posts `finish`
   * (every 5 s of event time and at the end). Each flush makes the worker post the pending
   * events as `segment` messages (plain zlib bodies, verified like every other output) and
   * then `stats`. The engine does not acknowledge events, so there is nothing to wait on
   * before a flush: mode 'paced' runs the same feed and reports no finish latency. */
  async engine(worker, { segmentMs }) {
    const events = corpus.events;
    const starts = segmentStarts(segmentMs);
    const ends = starts.slice(1).concat(events.length);
    const failures = [];
    const segments = [];
    let statsSeen = 0;
    let lastStatsT = NaN;
    let onStarted;
    let onAllStats;
    let replayId;
    const started = new Promise((resolve) => (onStarted = resolve));
    const allStats = new Promise((resolve) => (onAllStats = resolve));
    worker.onmessage = (e) => {
      const d = e.data;
      const t = performance.now();
      if (!d || d.rf !== 1) return;
      if (d.op === 'started') onStarted(d);
      else if (d.op === 'segment') {
        // As a host does once a segment is delivered, so the worker's store lets it go; a segment an earlier
        // page of this origin left unsent (handed over before `started`) is not this pass's.
        worker.postMessage({ rf: 1, op: 'sent', replayId: d.replayId, segmentId: d.segmentId });
        if (replayId && d.replayId === replayId) segments.push(d);
      }
      else if (d.op === 'rejected') failures.push(`rejected ${d.of}: ${d.message}`);
      else if (d.op === 'stopped') failures.push(`stopped: ${d.reason}`);
      else if (d.op === 'stats' && ++statsSeen === starts.length) {
        lastStatsT = t;
        onAllStats();
      }
    };
    worker.postMessage({ rf: 1, op: 'start', session: null,
      config: { sessionSampleRate: 1, errorSampleRate: 0, endpoint: 'http://127.0.0.1/ingest' } });
    const st = await started;
    replayId = st.replayId;
    if (st.mode !== 'session') failures.push(`engine started in mode ${st.mode}`);
    const t0 = performance.now();
    for (let s = 0; s < starts.length; s++) {
      let i = starts[s];
      while (i < ends[s]) {
        const burstStart = events[i].timestamp;
        let j = i + 1;
        while (j < ends[s] && events[j].timestamp - burstStart < ENGINE_BURST_MS) j++;
        worker.postMessage({ rf: 1, op: 'events', json: JSON.stringify(events.slice(i, j)) });
        i = j;
      }
      worker.postMessage({ rf: 1, op: 'flush' });
    }
    const loopMs = performance.now() - t0;
    await Promise.race([allStats, new Promise((resolve) => setTimeout(resolve, 120000))]);
    if (statsSeen < starts.length) failures.push(`only ${statsSeen} of ${starts.length} flushes answered`);
    segments.sort((a, b) => a.segmentId - b.segmentId);
    const outputs = [];
    let next = 0;
    for (const g of segments) {
      if (g.kind !== 'plain') failures.push(`segment ${g.segmentId} is ${g.kind}, want plain`);
      outputs.push({ start: next, end: next + g.eventCount, bytes: g.body });
      next += g.eventCount;
    }
    return { outputs, loopMs, e2eMs: lastStatsT - t0, finishMs: [], failures };
  },
};

/** Events within this much event time go to the engine in one message. */
const ENGINE_BURST_MS = 250; // host-js's default batchMs

/** The `direct` pass: bench/workers/direct-driver.js loads the worker file into its own worker and
 * calls its handler directly (no messages between threads), `passes` times over the file, pass 0 on
 * the fresh instance. Returns the passes' milliseconds and pass 0's outputs. */
async function direct({ url, driverUrl, segmentMs, passes }) {
  const starts = segmentStarts(segmentMs);
  const ends = starts.slice(1).concat(corpus.events.length);
  const w = new Worker(driverUrl);
  const next = () => new Promise((resolve, reject) => {
    w.onmessage = (e) => (e.data.error ? reject(new Error(`direct driver: ${e.data.error}`)) : resolve(e.data));
    w.onerror = (e) => reject(new Error(`direct driver: ${e.message}`));
  });
  try {
    let reply = next();
    w.postMessage({ cmd: 'load', url });
    await reply;
    reply = next();
    w.postMessage({ cmd: 'run', lines: corpus.lines, starts, passes });
    const { ms, outputs } = await reply;
    return { outputs: outputs.map((bytes, s) => ({ start: starts[s], end: ends[s], bytes })), directMs: ms,
      loopMs: NaN, e2eMs: NaN, finishMs: [], failures: [] };
  } finally {
    w.terminate();
  }
}

/** Waits until every message sent has been answered (so no stray reply reaches the next run). */
async function settle(r, sent) {
  for (let k = 0; r.replies < sent && k < 2000; k++) await new Promise((res) => setTimeout(res, 5));
  if (r.replies < sent) r.failures.push(`only ${r.replies} of ${sent} messages were answered`);
}

async function inflate(bytes) {
  const stream = new Response(bytes).body.pipeThrough(new DecompressionStream('deflate'));
  return new Response(stream).text();
}

let held = null;

/** One measured run of one contestant on the loaded corpus file. With `hold`, the worker is
 * kept alive until release() (bench/profile.mjs stops the worker's profiler first). */
async function run({ url, feed, mode, segmentMs = 5000, hold = false, driverUrl, passes = 6 }) {
  let res;
  let readyMs = NaN;
  if (mode === 'direct') {
    res = await direct({ url, driverUrl, segmentMs, passes });
  } else {
    const feeder = feeders[feed];
    if (!feeder) throw new Error(`no feeder '${feed}' in bench/page/host.js`);
    const started = await startWorker(url);
    readyMs = started.readyMs;
    try {
      res = await feeder(started.worker, { mode, segmentMs });
    } finally {
      if (hold) held = started.worker;
      else started.worker.terminate();
    }
  }
  // Verification: every output inflates to exactly the text of its events.
  const mismatches = [...res.failures];
  let compressed = 0;
  let header = null;
  for (const o of res.outputs) {
    if (!(o.bytes instanceof Uint8Array)) {
      mismatches.push(`segment ${o.start}..${o.end}: response is not a Uint8Array`);
      continue;
    }
    compressed += o.bytes.length;
    header ??= Array.from(o.bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
    const want = `[${corpus.lines.slice(o.start, o.end).join(',')}]`;
    let got;
    try {
      got = await inflate(o.bytes);
    } catch (e) {
      mismatches.push(`segment ${o.start}..${o.end}: inflate failed: ${e.message}`);
      continue;
    }
    if (got !== want) mismatches.push(`segment ${o.start}..${o.end}: inflated ${got.length} chars, want ${want.length}`);
  }
  const covered = res.outputs.reduce((n, o) => n + (o.end - o.start), 0);
  if (covered !== corpus.events.length) mismatches.push(`outputs cover ${covered} of ${corpus.events.length} events`);
  return {
    readyMs,
    directMs: res.directMs,
    e2eMs: res.e2eMs,
    loopMs: res.loopMs,
    events: corpus.events.length,
    inputBytes: corpus.bytes,
    compressed,
    finishes: res.outputs.length,
    finishMs: res.finishMs,
    header,
    mismatches,
  };
}

function release() {
  if (held) held.terminate();
  held = null;
}

window.bench = { loadCorpus, run, release, ready: true };
