// The replay_event and the envelope for one segment, built with the SDK's own event processing and sent
// through the client (getsentry/sentry-javascript packages/replay-internal src/util/prepareReplayEvent.ts,
// sendReplayRequest.ts, createReplayEnvelope.ts, sendReplay.ts).
import { prepareEvent, getClient, getCurrentScope, getIsolationScope, updateRateLimits, isRateLimited, createEventEnvelopeHeaders, getSdkMetadataForEnvelopeHeader, debug, normalize, isSentryRequestUrl } from '@sentry/core';

// The integration's other @sentry/core functions, imported here so the bundle has one import of it.
export { getClient, getCurrentScope, debug, normalize, isSentryRequestUrl };

/**
 * The replay_event for a segment: the worker's fields (`base`, parsed from its `replayEvent`), then what
 * Sentry's replay adds (`segment_names`), then the SDK's event processing as Sentry's replay applies it
 * (preprocessEvent / prepareEvent with the client's and the scope's processors / postprocessEvent, platform
 * and sdk with settings). Calls `done(event or null)`, synchronously when every event processor is.
 */
export function prepareReplayEvent(client, base, segmentNames, withScope, done) {
  const event = { ...base, segment_names: segmentNames };
  // prepareEvent lists the integrations from the client's options when the hint has none.
  const hint = { event_id: base.replay_id };
  client.emit('preprocessEvent', event, hint);
  const scope = withScope ? getCurrentScope() : undefined;
  const isolation = withScope ? getIsolationScope() : undefined;
  prepareEvent(client.getOptions(), event, hint, scope, client, isolation).then(
    (ev) => {
      if (!ev) return done(null);
      client.emit('postprocessEvent', ev, hint);
      ev.platform ||= 'javascript';
      const sdk = client.getSdkMetadata()?.sdk || {};
      ev.sdk = { ...ev.sdk, name: sdk.name || 'sentry.javascript.unknown', version: sdk.version || '0.0.0', settings: sdk.settings };
      delete ev.sdkProcessingMetadata;
      done(ev);
    },
    () => done(null),
  );
}

/** The envelope of a segment, with the SDK's own event envelope headers; `payload` is the replay_recording payload. */
export function replayEnvelope(client, event, payload) {
  const headers = createEventEnvelopeHeaders(event, getSdkMetadataForEnvelopeHeader(event), client.getOptions().tunnel, client.getDsn());
  return [headers, [[{ type: 'replay_event' }, event], [{ type: 'replay_recording', length: payload.length }, payload]]];
}

/**
 * What the transport's answer means for the replay, as Sentry's replay reads it: 'ok'; 'stop' for a rate
 * limit on replays (429 or X-Sentry-Rate-Limits) or a non-2xx status; 'retry' when there was no answer
 * (a network failure: client.sendEnvelope resolves without a status code then). `limits` carries the
 * rate limits seen so far: while one is active the transport drops replay envelopes itself (no status).
 */
export function readResponse(resp, limits) {
  const r = resp && typeof resp === 'object' && !(resp instanceof Error) ? resp : {};
  Object.assign(limits, updateRateLimits(limits, r));
  if (isRateLimited(limits, 'replay')) return 'stop';
  if (typeof r.statusCode !== 'number') return 'retry';
  return r.statusCode >= 200 && r.statusCode < 300 ? 'ok' : 'stop';
}
