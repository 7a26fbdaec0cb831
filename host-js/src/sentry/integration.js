// ringflateReplay: a Sentry integration in which the ringflate worker owns the replay (sampling, buffer,
// segments, compression) and the SDK keeps breadcrumbs, error capture, scope and transport.
//
// Only the SDK's public API is used: the integration hooks (afterAllSetup, processEvent, processSpan),
// client.on(…) events, client.sendEnvelope, client.getDsn / getOptions / getSdkMetadata / getIntegrationByName
// / recordDroppedEvent, and @sentry/core's exported functions. Where this follows Sentry's own replay, the file
// of getsentry/sentry-javascript packages/replay-internal it follows is named.
import { record } from '@sentry-internal/rrweb';
// The engine core is ringflate's own, shared with startReplay (one copy in an app that uses both).
import { createEngine } from 'ringflate';
import { prepareReplayEvent, replayEnvelope, readResponse, debug, normalize, isSentryRequestUrl, getClient, getCurrentScope } from './envelope.js';
import { breadcrumbEvent, custom, span, sec, copyBreadcrumb, networkSpan, memorySpan, observePerformance, watchDom, listen, guard } from './events.js';
import { recordOptions } from './recording.js';

/**
 * Whether this module's `@sentry/core` is the client's. A second copy (an app bundling two SDK versions,
 * e.g. @sentry/electron's own beside a newer one) keeps its scopes in a different carrier: its
 * getCurrentScope() would be an empty scope of its own, so scope data is left out rather than taken from it.
 */
const sameCore = (client) => guard(getClient)() === client;

/** Writes `ringflate: <text>` on the SDK's logger (shown with `debug: true`). */
const log = guard((client, text, level = 'error') => {
  // A second @sentry/core copy has its own logger switch: turn it on when the client asked for debug.
  if (!sameCore(client) && client.getOptions().debug) debug.enable();
  debug[level]('ringflate: ' + text);
});

/**
 * @param {import('../sentry').RingflateReplayOptions} [options]
 * @returns {import('../sentry').RingflateReplayIntegration}
 */
export function ringflateReplay(options) {
  const o = options || {};
  let state;

  // Sentry.init without a dsn sets up no integration at all: say so once the SDK has had its chance.
  setTimeout(guard(() => {
    const c = getClient();
    if (!state && c && !c.getDsn()) log(c, 'Sentry.init has no dsn: no replay is recorded');
  }));
  const mode = () => state?._mode?.();

  return {
    name: 'RingflateReplay',
    afterAllSetup(client) {
      state = {};
      try {
        state = start(client, o) || state;
      } catch (e) {
        log(client, 'could not start: ' + e);
      }
    },
    processEvent(event, hint) {
      try {
        return state._process ? state._process(event, hint || {}) : event;
      } catch {
        return event;
      }
    },
    // Streamed spans carry the replay id (src/integration.ts processSpan).
    processSpan: guard((s) => {
      const m = mode();
      const a = m && (s.attributes ||= {});
      if (a) a['sentry.replay_id'] ||= state._engine.replayId;
      if (m === 'buffer') a['sentry._internal.replay_is_buffering'] = true;
    }),
    /** The current replay id while recording. */
    getReplayId: () => (mode() ? state._engine.replayId : undefined),
    /** Buffer mode: sends the buffered history now and continues as a session; session mode: sends what is pending. */
    flush: () => state?._engine?.flush(),
    /** Sends what is pending and stops recording. */
    stop: () => state?._stop?.(),
    /** Stops recording and has the worker delete every recording it keeps for this origin, e.g. on logout. */
    forget: () => state?._forget?.(),
  };
}

function start(client, o) {
  const say = (text, level) => log(client, text, level);
  const co = client.getOptions();
  const sessionSampleRate = co.replaysSessionSampleRate;
  const errorSampleRate = co.replaysOnErrorSampleRate;
  const not = (why) => say(why + ': not starting');
  // Sentry de-duplicates integrations by name only, so its own replay can be installed beside this one.
  if (client.getIntegrationByName('Replay')) return not("Sentry's replayIntegration is installed too; remove one");
  if (!o.workerUrl) return not('ringflateReplay needs workerUrl (the URL of ringflate-worker.js)');
  if (sessionSampleRate == null && errorSampleRate == null) return not('replaysSessionSampleRate and replaysOnErrorSampleRate are unset');
  const withScope = sameCore(client);
  if (!withScope) say('a second @sentry/core is bundled: replay events miss the scope data', 'warn');

  const rec = recordOptions(o);
  const mirror = record.mirror;
  const limits = {};
  const drawn = new Map(); // buffer mode: error id → its draw, until the error was sent
  let names = new Set(); // span / transaction names for the next segment's segment_names
  let stopRecording;
  let dom;
  let stopPerf;
  let firstSegment = true; // nothing handed over yet in this replay: checkouts carry the options event
  let lastEvent; // the last replay_event prepared, for the unload path
  let queue = Promise.resolve();
  let awaitingBuffer; // a sampled error asked for the buffer; until it arrives the DSC has no replay_id
  let done; // the replay ended here (stop(), a refusal, a rate limit)
  let refused; // Sentry refused or rate-limited a segment: nothing more is sent
  let offs = [];
  const offInput = () => offs.forEach((x) => x());
  let memoryDue; // a segment was handed over: the next event recorded is preceded by a memory span

  // DSCs computed before the replay was a session (e.g. the one browser tracing keeps on the scope after the
  // pageload span) get the replay id, and lose it when the replay ends (src/util/resetReplayIdOnDynamicSamplingContext.ts).
  // (A span's DSC is computed afresh through the createDsc hook below; one frozen from an incoming trace is not updated.)
  const markDsc = guard((id) => {
    const d = withScope && getCurrentScope().getPropagationContext().dsc;
    if (d) id ? (d.replay_id = id) : delete d.replay_id;
  });

  // Sentry writes a memory entry into every segment it flushes (src/replay.ts _runFlush → addMemoryEntry). The worker
  // cuts segments, so the entry goes before the next event recorded after a segment: added at once, it would be an
  // event of its own that opens a segment, whose hand-over adds one more, every few seconds on an idle page.
  const push = (ev) => {
    const m = memoryDue && memorySpan();
    memoryDue = 0;
    engine.add(m ? [m, ev] : [ev]);
  };
  const add = (ev) => ev && stopRecording && push(ev);
  const addCrumb = (b) => add(b && breadcrumbEvent(b, normalize));

  const startRecording = () => {
    if (stopRecording || done) return;
    dom = watchDom(addCrumb, mirror, rec._maskAttr);
    stopPerf = observePerformance(add, (n) => mirror.getId(n));
    // Segments handed over before (an earlier page's, from the worker's store) leave no memory span due: the
    // recorder's checkout starts the segment, and its span follows it.
    memoryDue = 0;
    stopRecording = guard(record)({
      ...rec._options,
      emit: guard((ev) => {
        dom._rrweb(ev);
        push(ev);
        // The `options` event Sentry writes after the first checkout of segment 0 (src/util/handleRecordingEmit.ts).
        if (ev.type === 2 && firstSegment) {
          engine.add([
            custom(sec(), 'options', {
              shouldRecordCanvas: false,
              sessionSampleRate,
              errorSampleRate,
              useCompressionOption: true,
              ...rec._flags,
              useCompression: true,
              networkDetailHasUrls: false,
              networkCaptureBodies: true,
              networkRequestHasHeaders: true,
              networkResponseHasHeaders: true,
            }),
          ]);
        }
      }),
    });
    // After the recorder's first checkout, which starts the segment.
    if (stopRecording) add(memorySpan());
    else say('the recorder failed to start');
  };

  const stopRrweb = () => {
    guard(stopRecording)?.();
    dom?._stop();
    stopPerf?.();
    stopRecording = dom = stopPerf = 0;
  };

  // Calls `fn` once at the next user input.
  const onInput = (fn) => {
    offs = ['pointerdown', 'keydown', 'scroll', 'touchstart'].map((t) => listen(globalThis, t, () => (offInput(), done || fn())));
  };

  const stopReplay = (why) => {
    if (done) return;
    done = true;
    stopRrweb();
    engine.stop();
    markDsc();
    offInput();
    offHide();
    offVisible();
    if (why) say('replay stopped: ' + why, 'warn');
  };

  // Sends one segment's envelope; once the client's transport answered without an error status the worker is
  // told (`sent`: it deletes what it kept of the segment). Retries after 5, 10 and 30 s when there was no answer,
  // stops on a refusal or a rate limit (src/util/sendReplay.ts, src/replay.ts _runFlush).
  const send = (env, seg, n = 0) =>
    Promise.resolve(client.sendEnvelope(env))
      .then((resp) => readResponse(resp, limits), () => 'retry')
      .then((verdict) => {
        if (verdict === 'ok') return engine.sent(seg);
        if (refused) return;
        if (verdict === 'retry' && n < 3) return new Promise((r) => setTimeout(r, 5000 * [1, 2, 6][n])).then(() => send(env, seg, n + 1));
        refused = true;
        const limited = readResponse({ statusCode: 200 }, limits) === 'stop';
        guard(() => client.recordDroppedEvent(limited ? 'ratelimit_backoff' : 'send_error', 'replay'))();
        stopReplay(limited ? 'rate limited by Sentry' : verdict === 'retry' ? 'Sentry could not be reached' : 'Sentry refused a segment');
      });

  // The replay_event of a segment: the worker's, completed with the SDK's event processing (envelope.js), with
  // the names collected until now.
  const prepare = (seg, n = [...names]) => {
    names = new Set();
    return (then) => prepareReplayEvent(client, JSON.parse(seg.replayEvent), n, withScope, then);
  };

  const onSegment = (seg) => {
    firstSegment = false;
    if (awaitingBuffer) markDsc(engine.replayId);
    awaitingBuffer = false;
    memoryDue = 1;
    const p = prepare(seg);
    queue = queue.then(() => new Promise((resolve) => p((ev) => resolve(ev && !refused && send(replayEnvelope(client, (lastEvent = ev), seg.body), seg)))));
  };

  // Unload: the worker has no time to answer, so the open segment is sent now: what the worker streamed back plus
  // the events it had not streamed yet (the core's unload body). Sentry's fetch transport starts its (keepalive)
  // request inside sendEnvelope, synchronously.
  const offHide = listen(globalThis, 'pagehide', () => {
    const p = engine.partial();
    let ev;
    if (!p || done) return;
    prepare(p)((e) => (ev = e));
    // An asynchronous event processor would answer too late: reuse what the last segment's processing gave.
    const base = JSON.parse(p.replayEvent);
    if (!ev && lastEvent) ev = { ...lastEvent, ...base, event_id: base.replay_id, segment_names: [] };
    if (!ev) return;
    const r = client.sendEnvelope(replayEnvelope(client, ev, p.body));
    engine.delivered(p);
    Promise.resolve(r).then((resp) => readResponse(resp, limits) === 'ok' && engine.sent(p));
  });
  const offVisible = listen(document, 'visibilitychange', () => engine.hidden(document.visibilityState === 'hidden'));

  const callbacks = {
    onStarted(s) {
      firstSegment = !s.segmentId;
      if (s.mode === 'session') markDsc(s.replayId);
      if (s.mode !== 'off') startRecording();
    },
    onSegment,
    // A worker that stopped answering is replaced; its open segment, completed by the core, is sent like a segment.
    onRescue: onSegment,
    onCheckout: () => stopRecording && guard(record.takeFullSnapshot)(true),
    onPause() {
      stopRrweb();
      onInput(() => (engine.resume(), startRecording()));
    },
    onStopped(reason) {
      stopRrweb();
      // After an idle or too-long replay a new one starts at the next user input.
      if (reason === 'idle' || reason === 'maxDuration') onInput(engine.restart);
    },
    // Without a code the worker could not be created, loaded or started: nothing will be recorded.
    onError: (e) => say(e.message.slice(11) + (e.code ? '' : ' (no replay is recorded)')),
  };
  // The core calls these from the worker's messages: none of them may throw into the page.
  for (const k in callbacks) callbacks[k] = guard(callbacks[k]);
  const engine = createEngine({
    ...callbacks,
    workerUrl: o.workerUrl,
    config: {
      sessionSampleRate: sessionSampleRate || 0,
      errorSampleRate: errorSampleRate || 0,
      bufferMs: o.bufferMs,
      maxBufferBytes: o.maxBufferBytes,
      minReplayDurationMs: o.minReplayDuration,
      maxReplayDurationMs: o.maxReplayDuration,
      sentryClient: true,
    },
    // One message a second: the worker answers each batch with a partial, and the unload body holds the events of
    // batches not reported yet, so a longer window costs nothing on unload and saves main-thread time.
    batchMs: o.batchMs ?? 1000,
  });

  const on = (hook, fn) => client.on(hook, guard(fn));
  on('beforeAddBreadcrumb', (crumb, hint) => {
    const c = crumb.category;
    const d = crumb.data;
    if (!stopRecording) return;
    if (c === 'fetch' || c === 'xhr') {
      const s = networkSpan(crumb, hint);
      if (s && !isSentryRequestUrl(s.data.payload.description, client)) add(s);
      return;
    }
    if (c === 'navigation' && d?.to) add(span('navigation.push', d.to, crumb.timestamp || sec(), undefined, { previous: d.from }));
    addCrumb(copyBreadcrumb(crumb, normalize));
  });

  const addName = (n) => n && names.size < 100 && names.add(n);
  // Error ids and trace ids reach the next segment once their events were sent, and a sampled error sends the
  // buffer only then (src/coreHandlers/handleAfterSendEvent.ts).
  on('afterSendEvent', (event, resp) => {
    const code = resp?.statusCode;
    const ok = code >= 200 && code < 300;
    const id = event.event_id;
    const d = drawn.get(id);
    const m = mode();
    drawn.delete(id);
    if (!m) return;
    if (d) {
      // One `error` per draw (the worker counts them); an error not sent links nothing and sends no buffer.
      if (d.r === engine.replayId && engine.error(ok ? id : undefined, ok && d.s) && m === 'buffer') awaitingBuffer = true;
    } else if (ok && event.type === 'transaction') {
      const t = event.contexts?.trace?.trace_id;
      if (t) engine.trace(t);
      addName(event.transaction);
    } else if (ok && !event.type && m === 'session') engine.error(id);
  });
  // Streamed spans name their segment the same way (src/coreHandlers/handleProcessSegmentSpan.ts).
  on('processSegmentSpan', (s) => {
    if (!mode()) return;
    if (s.trace_id) engine.trace(s.trace_id);
    addName(s.name);
  });
  // The dynamic sampling context carries the replay id in session mode (src/util/addGlobalListeners.ts).
  on('createDsc', (dsc) => {
    if (mode() === 'session' && !awaitingBuffer) dsc.replay_id = engine.replayId;
  });

  function mode() {
    return done || engine.mode === 'off' ? undefined : engine.mode;
  }

  return {
    _engine: engine,
    _mode: mode,
    _stop: () => stopReplay(),
    _forget: () => (stopReplay(), engine.forget()),
    // Tags and error sampling, as Sentry's event processor (src/coreHandlers/handleGlobalEvent.ts).
    _process: (event, hint) => {
      const m = mode();
      const type = event.type;
      if (type === 'replay_event') delete event.breadcrumbs;
      if (!m || (type && type !== 'transaction')) return event;
      // Errors thrown inside the recorder are not the app's.
      if (!type && hint.originalException?.__rrweb__) return null;
      let tag = m === 'session';
      // Buffer mode: only exceptions take a draw, answered now from the worker's pre-drawn draws; the error is
      // posted (and a sampled one sends the buffer) once it was sent, in afterSendEvent.
      if (!type && m === 'buffer' && event.exception && !event.sdkProcessingMetadata?.hasDefaultSyntheticStacktrace) {
        tag = engine.draw();
        drawn.set(event.event_id, { r: engine.replayId, s: tag });
      }
      if (tag) event.tags = { ...event.tags, replayId: engine.replayId };
      return event;
    },
  };
}
