/** Options for {@link startReplay}. Exactly one of `dsn`, `tunnel`, `endpoint` or `transport` says where segments go. */
export interface ReplayOptions {
  /** URL of `ringflate-worker.js` (same origin, `file://` or a custom scheme). */
  workerUrl: string | URL;
  /** Sentry DSN: segments are sent as Sentry envelopes to its envelope endpoint. */
  dsn?: string;
  /** Same-origin tunnel URL that forwards envelopes to Sentry (the envelope header then carries the DSN). */
  tunnel?: string;
  /** Your own endpoint: each segment is POSTed as zlib bytes, described in the query string. */
  endpoint?: string;
  /** Your own sender for plain segments (with `endpoint` unset); a rejected promise is retried like a network error. */
  transport?: (segment: Segment) => unknown | Promise<unknown>;
  /** Share of sessions recorded from the start (0–1). Decided in the worker from the replay id. */
  sessionSampleRate?: number;
  /** Share of errors (in sessions not sampled above) that send the buffered history (0–1). */
  errorSampleRate?: number;
  /** History kept in buffer mode, at least this many ms before an error (default 60000). */
  bufferMs?: number;
  /** Cap on the compressed buffer in bytes (default 10 MiB). */
  maxBufferBytes?: number;
  /** Events are posted to the worker at most this often, in one message (default 250 ms; 0 = once per task). */
  batchMs?: number;
  /** A replay shorter than this is not sent yet (default 4999 ms). */
  minReplayDurationMs?: number;
  environment?: string;
  release?: string;
  /** The rrweb module (or its `record` function); defaults to `globalThis.rrweb`. Omit to feed events yourself with `addEvents`. */
  rrweb?: unknown;
  /** rrweb record options (without `emit`), or `false` to not start rrweb. */
  record?: Record<string, unknown> | false;
  /** Called for every segment the worker hands over (after sending starts). */
  onSegment?: (segment: Segment) => void;
  /** Called when the worker cannot start or refuses a message. */
  onError?: (error: Error) => void;
}

/** A ready-to-send segment, as the worker hands it over. */
export interface Segment {
  replayId: string;
  segmentId: number;
  replayType: 'session' | 'buffer';
  /** First and last event timestamps (ms). */
  start: number;
  end: number;
  eventCount: number;
  /** `envelope`: complete Sentry envelope bytes; `plain`: the zlib-compressed `[e1,e2,…]`. */
  kind: 'envelope' | 'plain';
  url?: string;
  body: Uint8Array;
}

export interface Replay {
  /** Set once the worker has started the replay (see `ready`). */
  readonly replayId: string | undefined;
  /** `session`, `buffer`, or `off` (not sampled, or stopped). */
  readonly mode: 'session' | 'buffer' | 'off';
  /** Resolves when the worker has made its sampling decision. */
  readonly ready: Promise<{ replayId: string; mode: 'session' | 'buffer' | 'off' }>;
  /** Feeds events from any recorder (batched, one message per burst). */
  addEvents(events: ReadonlyArray<object>): void;
  /**
   * Reports an error. Returns synchronously whether this error gets the replay
   * (in buffer mode, from a decision the worker drew in advance).
   */
  captureError(error: unknown, options?: { eventId?: string }): boolean;
  /** Sends what is pending now. */
  flush(): void;
  /** Sends what is pending and stops recording. */
  stop(): void;
}

export function startReplay(options: ReplayOptions): Replay;
