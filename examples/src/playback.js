// Events as received → events the rrweb Replayer can play.
//
// rrweb stamps its events in milliseconds. The Sentry SDK adds custom events of its own to the recording and
// stamps some of them in seconds: its `performanceSpan` events carry `timestamp: start` with `start` in
// seconds (packages/replay-internal/src/util/createPerformanceSpans.ts in getsentry/sentry-javascript), while
// its breadcrumbs are converted to milliseconds. The SDK tells the two apart by size: a value above
// 9999999999 is milliseconds, anything else seconds (`timestampToMs` in src/util/timestamp.ts there). Sorted
// as they come, the seconds-stamped events land decades before the page's first event, and a player starting
// there never reaches the page. playbackEvents() makes copies in milliseconds, in time order (the sort is
// stable: events stamped alike keep their recorded order); the events received are left as they are.

/** The Sentry SDK's rule: above 9999999999 a timestamp is in milliseconds, otherwise in seconds. */
export function timestampMs(ts) {
  return ts > 9999999999 ? ts : ts * 1000;
}

/** `events` (in recorded order) with millisecond timestamps, sorted by time for playback; the input is not changed. */
export function playbackEvents(events) {
  return events
    .map((e) => (timestampMs(e.timestamp) === e.timestamp ? e : { ...e, timestamp: timestampMs(e.timestamp) }))
    .sort((a, b) => a.timestamp - b.timestamp);
}
