import type { EngineError, Ready, Scope, TrustedScriptURL } from './core';
import type { SegmentMessage } from './protocol';

export type { Engine, EngineError, EngineOptions, Ready, SessionStore, TrustedScriptURL, UnloadBody } from './core';
export { createEngine, VERSION } from './core';
export type * as protocol from './protocol';

/** Options for {@link startReplay}. Exactly one of `dsn`, `tunnel`, `endpoint` or `transport` says where segments go. */
export interface ReplayOptions {
  /**
   * URL of `ringflate-worker.js` (same origin, `file://` or a custom scheme). Where the page enforces Trusted Types
   * (`require-trusted-types-for 'script'`), a `TrustedScriptURL` (see the README for a one-line policy).
   */
  workerUrl: string | URL | TrustedScriptURL;
  /** Sentry DSN: segments are sent as Sentry envelopes to its envelope endpoint. */
  dsn?: string;
  /** Same-origin tunnel URL that forwards envelopes to Sentry (the envelope header then carries the DSN). */
  tunnel?: string;
  /** Your own endpoint: each segment is POSTed as zlib bytes, described in the query string. */
  endpoint?: string;
  /**
   * Your own sender for plain segments (with `endpoint` unset): resolving means accepted; a rejected promise is
   * retried like a network error.
   */
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
  /**
   * Called once per cause when the worker cannot be created, does not load or cannot start, or refuses a message.
   * Messages start with "ringflate: "; a refusal carries the worker's `code`.
   */
  onError?: (error: EngineError) => void;
}

/**
 * A ready-to-send segment, as the worker hands it over (`kind` is `envelope` with `dsn`/`tunnel`, `plain`
 * otherwise; `url` is where it is POSTed, absent for plain segments without an `endpoint`).
 */
export type Segment = SegmentMessage;

export interface Replay {
  /** Set once the worker has started the replay (see `ready`). */
  readonly replayId: string | undefined;
  /** `session`, `buffer`, or `off` (not sampled, or stopped). */
  readonly mode: 'session' | 'buffer' | 'off';
  /**
   * Resolves once, when the worker has made its sampling decision. It never rejects: when the worker cannot be
   * created, does not load, or its engine cannot start, it resolves with `mode: 'off'`, no `replayId`, and the
   * `error` (also passed to `onError`).
   */
  readonly ready: Promise<Ready>;
  /** Feeds events from any recorder (batched, one message per burst). */
  addEvents(events: ReadonlyArray<object>): void;
  /**
   * Reports an error. Returns synchronously whether this error gets the replay
   * (in buffer mode, from a decision the worker drew in advance).
   */
  captureError(error: unknown, options?: { eventId?: string }): boolean;
  /** Adds a trace id (32 hex digits) to the next segment's `trace_ids`. */
  trace(traceId: string): void;
  /** Sends what is pending now. */
  flush(): void;
  /** Sends what is pending and stops recording. */
  stop(): void;
  /**
   * Stops recording, and deletes every recording the worker keeps in this origin's storage (IndexedDB) and the
   * stored session value (e.g. on logout). Segments already handed over are still sent.
   */
  forget(): void;
}

/** The page globals startReplay uses (`globalThis` by default; tests pass fakes). */
export interface PageScope extends Scope {
  fetch(
    url: string,
    init: { method: string; body: Uint8Array<ArrayBuffer> | Blob; keepalive: boolean },
  ): Promise<{ ok: boolean; status: number; headers?: { get(name: string): string | null } }>;
  navigator: { onLine?: boolean };
  document: {
    visibilityState: string;
    addEventListener(type: string, fn: () => void): void;
    removeEventListener(type: string, fn: () => void): void;
  };
  addEventListener(type: string, fn: () => void, options?: boolean | { capture?: boolean; passive?: boolean }): void;
  removeEventListener(type: string, fn: () => void, capture?: boolean): void;
  rrweb?: unknown;
}

/** Starts recording. Throws only when `workerUrl` or a destination is missing; every later failure goes to `onError` and `ready`. */
export function startReplay(options: ReplayOptions, scope?: PageScope): Replay;
