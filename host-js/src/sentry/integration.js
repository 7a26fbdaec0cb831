// ringflateReplay: a Sentry integration in which the ringflate worker owns the replay (sampling, buffer,
// segments, compression) and the SDK keeps breadcrumbs, error capture, scope and transport.
//
// Only the SDK's public API is used: the integration hooks (afterAllSetup, processEvent), client.on(…) events,
// client.sendEnvelope, client.getDsn / getOptions / getSdkMetadata / getIntegrationByName /
// recordDroppedEvent, and @sentry/core's exported functions. Where this follows Sentry's own replay, the file
// of getsentry/sentry-javascript packages/replay-internal it follows is named.
import { record } from '@sentry-internal/rrweb';
import { debug, normalize, isSentryRequestUrl, getClient, getCurrentScope, getActiveSpan, getDynamicSamplingContextFromSpan } from '@sentry/core';
import { createEngine } from '../core.js';
import { recordOptions } from './recording.js';
import { breadcrumbEvent, spanEvent, copyBreadcrumb, networkSpan, historySpan, memorySpan, observePerformance, watchDom } from './events.js';
import { sameCore, prepareReplayEvent, replayEnvelope, readResponse } from './envelope.js';

export const NAME = 'RingflateReplay';
// Retries after a failed send (src/util/sendReplay.ts: 5 s, then ×2, ×3).
const RETRY_MS = [5000, 10000, 30000];
const ACTIVITY = ['pointerdown', 'keydown', 'scroll', 'touchstart'];
// Sentry's replay_event and context limits (src/coreHandlers/util/addSegmentDetailsToContext.ts).
const MAX_NAMES = 100;
// Sentry's replay refuses to sample this SDK-internal error (src/constants.ts UNABLE_TO_SEND_REPLAY).
const UNABLE_TO_SEND = 'Unable to send Replay';

// One recorder per page: a second ringflateReplay (or a second client) does not start.
let active = null;

function log(client, level, message) {
  try {
    // A second @sentry/core copy has its own logger switch: turn it on when the client asked for debug.
    if (client && !sameCore(client) && client.getOptions().debug && debug.isEnabled && !debug.isEnabled()) debug.enable();
    debug[level](message);
  } catch {
    // never into the app
  }
}

/**
 * @param {import('../sentry').RingflateReplayOptions} [options]
 * @returns {import('../sentry').RingflateReplayIntegration}
 */
export function ringflateReplay(options) {
  const o = options || {};
  let setUp = false;
  let state = null;

  // Sentry.init without a dsn sets up no integration at all: say so once the SDK has had its chance.
  setTimeout(() => {
    if (setUp) return;
    const c = safe(() => getClient());
    if (c && !c.getDsn()) log(c, 'error', 'ringflate: Sentry.init has no dsn, so the SDK set up no integrations and ringflateReplay records nothing');
  }, 0);

  const integration = {
    name: NAME,
    afterAllSetup(client) {
      setUp = true;
      try {
        state = start(client, o);
      } catch (e) {
        log(client, 'error', 'ringflate: ringflateReplay could not start: ' + (e && e.message));
      }
    },
    processEvent(event, hint) {
      try {
        return state ? state.processEvent(event, hint || {}) : event;
      } catch {
        return event;
      }
    },
    // Streamed spans carry the replay id as an attribute (src/integration.ts processSpan).
    processSpan(span) {
      try {
        if (state) state.processSpan(span);
      } catch {
        // never into the app
      }
    },
    /** The current replay id, once the worker has started one that is recording. */
    getReplayId() {
      return state && state.engine.mode !== 'off' ? state.engine.replayId : undefined;
    },
    /** `session`, `buffer`, or undefined when not recording (as Sentry's getRecordingMode). */
    getRecordingMode() {
      const m = state && state.engine.mode;
      return m && m !== 'off' ? m : undefined;
    },
    /** Buffer mode: sends the buffered history now and continues as a session; session mode: sends what is pending. */
    flush() {
      if (state) state.engine.flush();
    },
    /** Sends what is pending and stops recording. */
    stop() {
      if (state) state.stop();
    },
  };
  return integration;
}

function safe(fn) {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function start(client, o) {
  const other = client.getIntegrationByName && client.getIntegrationByName('Replay');
  if (other) {
    log(client, 'error', "ringflate: Sentry's replayIntegration is installed too; two replay integrations would record the page twice. Remove one of them: ringflateReplay is not starting");
    return null;
  }
  if (active) {
    log(client, 'error', 'ringflate: ringflateReplay is already recording this page (a second instance or a second client); this one is not starting');
    return null;
  }
  if (!client.getDsn()) {
    log(client, 'error', 'ringflate: the Sentry client has no dsn; ringflateReplay has nowhere to send replays and is not starting');
    return null;
  }
  if (!o.workerUrl) {
    log(client, 'error', "ringflate: ringflateReplay needs workerUrl, the URL of ringflate-worker.js served by your app (e.g. ringflateReplay({ workerUrl: '/assets/ringflate-worker.js' })); not starting");
    return null;
  }
  const co = client.getOptions();
  const sessionSampleRate = co.replaysSessionSampleRate;
  const errorSampleRate = co.replaysOnErrorSampleRate;
  if (sessionSampleRate == null && errorSampleRate == null) {
    log(client, 'warn', 'ringflate: replays are off: neither replaysSessionSampleRate nor replaysOnErrorSampleRate is set in Sentry.init');
    return null;
  }
  const withScope = sameCore(client);
  if (!withScope) {
    log(client, 'warn', "ringflate: this @sentry/core is not the Sentry client's (two SDK copies in the bundle); replay events get the client's event processing but not the scope's data (tags, user, trace context)");
  }

  const rec = recordOptions(o);
  const mirror = record.mirror;
  const limits = {};
  const posted = new Set(); // error ids already handed to the worker
  let names = new Set(); // transaction names for the next segment's segment_names
  let stopRecording = null;
  let dom = null;
  let stopPerf = null;
  let firstSegment = true; // nothing handed over yet in this replay: checkouts carry the options event
  let lastEvent = null; // the last replay_event prepared, for the unload path
  let queue = Promise.resolve();
  let awaitingBuffer = false; // a sampled error asked for the buffer; until it is sent the DSC stays without replay_id
  let done = false; // the replay ended here (stop(), a refusal, a rate limit)
  let refused = false; // Sentry refused or rate-limited a segment: nothing more is sent

  // DSCs computed before the replay was a session (e.g. the one browser tracing keeps on the scope after the
  // pageload span) get the replay id written in, and lose it when the replay ends (src/util/resetReplayIdOnDynamicSamplingContext.ts).
  const markDsc = (id) => {
    if (!withScope) return;
    safe(() => {
      const dsc = getCurrentScope().getPropagationContext().dsc;
      if (dsc) id ? (dsc.replay_id = id) : delete dsc.replay_id;
      const span = getActiveSpan();
      const d = span && getDynamicSamplingContextFromSpan(span);
      if (d) id ? (d.replay_id = id) : delete d.replay_id;
    });
  };

  const recording = () => !!stopRecording;
  const addCustom = (ev) => {
    if (recording()) engine.add([ev]);
  };
  const addSpan = (s) => addCustom(spanEvent(s));
  const addCrumb = (b) => addCustom(breadcrumbEvent(b, normalize));

  // The `options` event Sentry writes after the first checkout of segment 0 (src/util/handleRecordingEmit.ts).
  const optionsEvent = () => ({
    type: 5,
    timestamp: Date.now(),
    data: {
      tag: 'options',
      payload: {
        shouldRecordCanvas: false,
        sessionSampleRate,
        errorSampleRate,
        useCompressionOption: true,
        blockAllMedia: rec.flags.blockAllMedia,
        maskAllText: rec.flags.maskAllText,
        maskAllInputs: rec.flags.maskAllInputs,
        useCompression: true,
        networkDetailHasUrls: false,
        networkCaptureBodies: true,
        networkRequestHasHeaders: true,
        networkResponseHasHeaders: true,
      },
    },
  });

  const startRecording = () => {
    if (stopRecording || done) return;
    dom = watchDom(addCrumb, mirror, rec.maskAttr);
    stopPerf = observePerformance(addSpan, (n) => mirror.getId(n));
    stopRecording = safe(() =>
      record(Object.assign({}, rec.options, {
        emit(ev) {
          try {
            dom.rrwebEvent(ev);
            engine.add([ev]);
            if (ev.type === 2 && firstSegment) engine.add([optionsEvent()]);
          } catch (e) {
            log(client, 'error', 'ringflate: ' + (e && e.message));
          }
        },
      })),
    ) || null;
    if (!stopRecording) log(client, 'error', 'ringflate: the recorder could not start on this page');
    const m = memorySpan();
    if (m) addSpan(m);
  };

  const stopRrweb = () => {
    if (stopRecording) safe(stopRecording);
    stopRecording = null;
    if (dom) dom.stop();
    if (stopPerf) stopPerf();
    dom = stopPerf = null;
  };

  const onInput = (fn) => {
    const h = () => {
      ACTIVITY.forEach((t) => removeEventListener(t, h, true));
      if (!done) fn();
    };
    ACTIVITY.forEach((t) => addEventListener(t, h, { capture: true, passive: true }));
  };

  const stopReplay = (why) => {
    if (done) return;
    done = true;
    stopRrweb();
    engine.stop();
    markDsc(null);
    document.removeEventListener('visibilitychange', onVisibility);
    removeEventListener('pagehide', onPageHide);
    if (active === api) active = null;
    if (why) log(client, 'warn', 'ringflate: replay stopped: ' + why);
  };

  // Sends one envelope; retries when there was no answer, stops on a refusal or a rate limit
  // (src/util/sendReplay.ts, src/replay.ts _runFlush).
  const send = (env, attempt) =>
    Promise.resolve(client.sendEnvelope(env)).then(
      (resp) => settle(readResponse(resp, limits), env, attempt),
      () => settle('retry', env, attempt),
    );
  const settle = (verdict, env, attempt) => {
    if (verdict === 'ok' || refused) return;
    if (verdict === 'retry' && attempt < RETRY_MS.length) {
      return new Promise((r) => setTimeout(r, RETRY_MS[attempt])).then(() => send(env, attempt + 1));
    }
    refused = true;
    safe(() => client.recordDroppedEvent(isLimited() ? 'ratelimit_backoff' : 'send_error', 'replay'));
    stopReplay(isLimited() ? 'rate limited by Sentry' : verdict === 'retry' ? 'could not reach Sentry after 3 retries' : 'Sentry refused a segment');
  };
  const isLimited = () => readResponse({ statusCode: 200 }, limits) === 'stop';

  const takeNames = () => {
    const n = Array.from(names);
    names = new Set();
    return n;
  };

  const onSegment = (seg) => {
    firstSegment = false;
    if (awaitingBuffer) markDsc(engine.replayId);
    awaitingBuffer = false;
    const base = JSON.parse(seg.replayEvent);
    const segmentNames = takeNames();
    const m = memorySpan();
    if (m) addSpan(m);
    queue = queue.then(
      () =>
        new Promise((resolve) =>
          prepareReplayEvent(client, base, segmentNames, withScope, (ev) => {
            if (!ev || refused) return resolve();
            lastEvent = ev;
            resolve(send(replayEnvelope(client, ev, seg.body), 0));
          }),
        ),
    ).catch((e) => log(client, 'error', 'ringflate: ' + (e && e.message)));
  };

  // Unload: the worker has no time to answer, so the open segment it already streamed back is sent now.
  // Sentry's fetch transport starts its (keepalive) request inside sendEnvelope, synchronously.
  const onPageHide = () => {
    try {
      const p = engine.partial();
      if (!p || !p.replayEvent || done) return;
      const base = JSON.parse(p.replayEvent);
      let ev = null;
      prepareReplayEvent(client, base, takeNames(), withScope, (e) => (ev = e || ev));
      // An asynchronous event processor would answer too late: reuse what the last segment's processing gave.
      if (!ev && lastEvent) ev = Object.assign({}, lastEvent, base, { event_id: base.replay_id, segment_names: [] });
      if (!ev) return;
      client.sendEnvelope(replayEnvelope(client, ev, p.body));
      engine.delivered(p);
    } catch (e) {
      log(client, 'error', 'ringflate: ' + (e && e.message));
    }
  };

  const onVisibility = () => engine.hidden(document.visibilityState === 'hidden');

  const engine = createEngine({
    workerUrl: o.workerUrl,
    config: {
      sessionSampleRate: sessionSampleRate || 0,
      errorSampleRate: errorSampleRate || 0,
      bufferMs: o.bufferMs,
      maxBufferBytes: o.maxBufferBytes,
      minReplayDurationMs: o.minReplayDuration,
      sentryClient: true,
    },
    batchMs: o.batchMs,
    onStarted(s) {
      firstSegment = s.segmentId === 0;
      if (s.mode === 'session') markDsc(s.replayId);
      if (s.mode !== 'off') startRecording();
    },
    onSegment,
    onCheckout() {
      if (recording()) safe(() => record.takeFullSnapshot(true));
    },
    onPause() {
      stopRrweb();
      onInput(() => {
        engine.resume();
        startRecording();
      });
    },
    onStopped(reason) {
      stopRrweb();
      // After an idle or too-long replay a new one starts at the next user input.
      if (reason === 'idle' || reason === 'maxDuration') onInput(() => engine.restart());
    },
    onError(e) {
      // Without a code the worker could not be created, loaded or started: nothing will be recorded.
      log(client, 'error', e.code ? e.message : e.message + ' (ringflateReplay records nothing on this page)');
    },
  });

  document.addEventListener('visibilitychange', onVisibility);
  addEventListener('pagehide', onPageHide);

  client.on('beforeAddBreadcrumb', (crumb, hint) => {
    try {
      if (!recording() || !crumb) return;
      const c = crumb.category;
      if (c === 'fetch' || c === 'xhr') {
        const s = networkSpan(crumb, hint);
        if (s && !isSentryRequestUrl(s.name, client)) addSpan(s);
        return;
      }
      if (c === 'navigation' && crumb.data && crumb.data.to) addSpan(historySpan(crumb));
      const b = copyBreadcrumb(crumb, normalize);
      if (b) addCrumb(b);
    } catch {
      // never into the app
    }
  });

  // Error ids and trace ids reach the next segment once their events were sent (src/coreHandlers/handleAfterSendEvent.ts).
  client.on('afterSendEvent', (event, resp) => {
    try {
      const code = resp && resp.statusCode;
      if (!event || !code || code < 200 || code >= 300 || engine.mode === 'off') return;
      if (!event.type) {
        // Buffer mode: only exceptions take a draw (in processEvent); other error events are not linked.
        if (engine.mode !== 'session' || !event.event_id || posted.has(event.event_id)) return;
        posted.add(event.event_id);
        engine.error(event.event_id);
      } else if (event.type === 'transaction') {
        const t = event.contexts && event.contexts.trace && event.contexts.trace.trace_id;
        if (t) engine.trace(t);
        if (event.transaction && names.size < MAX_NAMES) names.add(event.transaction);
      }
    } catch {
      // never into the app
    }
  });

  // Streamed spans name their segment the same way (src/coreHandlers/handleProcessSegmentSpan.ts).
  client.on('processSegmentSpan', (span) => {
    try {
      if (engine.mode === 'off' || !span) return;
      if (span.trace_id) engine.trace(span.trace_id);
      if (span.name && names.size < MAX_NAMES) names.add(span.name);
    } catch {
      // never into the app
    }
  });

  // The dynamic sampling context carries the replay id in session mode (src/util/addGlobalListeners.ts).
  client.on('createDsc', (dsc) => {
    if (engine.mode === 'session' && !awaitingBuffer && engine.replayId && !done) dsc.replay_id = engine.replayId;
  });

  const api = {
    engine,
    stop: () => stopReplay(),
    processSpan(span) {
      const mode = engine.mode;
      if (mode === 'off' || done || !span) return;
      const a = span.attributes || (span.attributes = {});
      if (!('sentry.replay_id' in a)) a['sentry.replay_id'] = engine.replayId;
      if (mode === 'buffer' && !('sentry._internal.replay_is_buffering' in a)) a['sentry._internal.replay_is_buffering'] = true;
    },
    // Tags and error sampling, as Sentry's event processor (src/coreHandlers/handleGlobalEvent.ts).
    processEvent(event, hint) {
      if (event.type === 'replay_event') {
        delete event.breadcrumbs;
        return event;
      }
      const mode = engine.mode;
      if (mode === 'off' || done) return event;
      const isError = !event.type;
      if (!isError && event.type !== 'transaction') return event;
      // Errors thrown inside the recorder are not the app's.
      if (isError && hint.originalException && hint.originalException.__rrweb__) return null;
      let tag = mode === 'session';
      if (isError && mode === 'buffer') {
        // Only exceptions can send the buffer, answered now from the worker's pre-drawn draws.
        const md = event.sdkProcessingMetadata;
        if (event.exception && event.message !== UNABLE_TO_SEND && !(md && md.hasDefaultSyntheticStacktrace)) {
          if (event.event_id) posted.add(event.event_id);
          tag = engine.error(event.event_id);
          if (tag) awaitingBuffer = true;
        }
      }
      if (tag) event.tags = Object.assign({}, event.tags, { replayId: engine.replayId });
      return event;
    },
  };
  active = api;
  return api;
}
