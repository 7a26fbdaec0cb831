// Stands in for the rrweb recorder in the benchmark page: `record({emit})` hands the page the emit callback,
// and bench/page/paced.js calls it with the corpus events at their recorded pace. Only the recorder is replaced
// (the DOM recording's own cost is the same for every host and is not part of this feed); the integration, the
// SDK and the worker around it are the real ones. bench/mainthread.mjs aliases '@sentry-internal/rrweb' to this file.
export const feed = { emit: null };

export function record(options) {
  feed.emit = options.emit;
  return () => {
    feed.emit = null;
  };
}
record.mirror = { getId: () => -1, getNode: () => null, getMeta: () => null };
record.takeFullSnapshot = () => {};
