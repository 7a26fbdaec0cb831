// The engine core: the page side of the engine protocol (./protocol.d.ts), for any host that records events
// and sends what the worker hands back (startReplay, the Sentry integration). It creates the worker, starts the
// engine, posts events in batches, answers error sampling synchronously from the draws the worker handed over,
// stores the session value, keeps the open segment for delivery on unload, watches that the worker answers
// (replacing one that does not), and passes everything else to the callbacks. It makes none of the worker's decisions: destinations, sampling and segment rules come from the
// worker's messages.
import type { EngineConfig, HostMessage, Mode, RejectCode, SegmentMessage, StartedMessage, StopReason, WorkerMessage } from './protocol';

export type * from './protocol';

/** The package version of this host code; the worker's first message states the worker file's. */
export const VERSION: string;

/** A Trusted Types `TrustedScriptURL` (from `trustedTypes.createPolicy(…).createScriptURL(…)`). */
export interface TrustedScriptURL {
  toString(): string;
  toJSON(): string;
}

/** Where the session value is kept (`sessionStorage` by default). Exceptions it throws are ignored. */
export interface SessionStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** An error reported through `onError`; `code` is the worker's reason when it rejected a message. */
export interface EngineError extends Error {
  code?: RejectCode;
}

/**
 * What `ready` resolves to, once: the worker's sampling decision, or — when the worker cannot be created, does
 * not load, or its WebAssembly engine cannot start, or `stop()` came first — `mode: 'off'` with the `error`
 * (the same one `onError` got). `ready` never rejects and never stays pending after such a failure.
 */
export type Ready =
  | { replayId: string; mode: Mode; error?: undefined }
  | { replayId: undefined; mode: 'off'; error: EngineError };

/** The open segment, for delivery when the page goes away. */
export interface UnloadBody {
  replayId: string;
  segmentId: number;
  /**
   * A complete segment body (an envelope, a zlib stream, or a replay_recording payload) holding every event added
   * so far: what the worker streamed (`head + chunks`), then the events it has not streamed yet as stored blocks,
   * `]`, and the Adler-32 (an envelope's recording `length` updated to match).
   */
  body: Uint8Array<ArrayBuffer>;
  /** Where to send it, when the worker gave one (see `PartialMessage.url`). */
  url?: string;
  /** `sentryClient` mode: the replay_event as of the last partial. */
  replayEvent?: string;
  /** The session value to store once it has been sent: pass the whole object to `delivered`. */
  session: string;
}

export interface EngineOptions {
  /** The worker file: a URL string, a `URL`, or a `TrustedScriptURL` (required where Trusted Types are enforced). */
  workerUrl: string | URL | TrustedScriptURL;
  /** Sent as `start.config` (unset fields left out). */
  config: EngineConfig;
  /** The page URL for the first segment's `urls` (default `location.href`). */
  url?: string;
  /** Events are posted at most this often, in one message (default 250 ms; 0 = once per task). */
  batchMs?: number;
  /** Session value store (default `sessionStorage`; null = none, every page load starts a new replay). */
  storage?: SessionStore | null;
  /** Key of the session value in `storage` (default `ringflateSession`). */
  storageKey?: string;
  /** The worker answered `start` (the first time and after every `restart`). */
  onStarted?(started: StartedMessage): void;
  /**
   * A finished segment to send, in `segmentId` order, once per segment (never one already handed over, e.g. again
   * by a replacement worker, nor one handed to `delivered`). Call `sent` once the destination accepted it.
   */
  onSegment?(segment: SegmentMessage): void;
  /**
   * The worker stopped answering and is being replaced: its open segment, completed by the core as on unload
   * (already passed to `delivered`). Send it like a segment and call `sent` once it was accepted; the new
   * worker continues with the next segment id. Without this callback the batches no partial had reported are
   * posted to the new worker instead.
   */
  onRescue?(body: UnloadBody): void;
  /** Take a full snapshot now (the worker asked, or a replacement worker has started). */
  onCheckout?(): void;
  /** No user activity for a while: stop recording, call `resume()` on the next user input. */
  onPause?(): void;
  /** The replay ended (`mode` is `off`); `restart()` begins a new one. */
  onStopped?(reason: StopReason): void;
  /**
   * Called once per cause: the worker could not be created or loaded, its engine could not start, it rejected a
   * message (`code` set), or it stopped answering and was replaced (no message for 1,000 ms after a ping). Messages are the worker's own texts where it gave one; every message
   * starts with "ringflate: " exactly once.
   */
  onError?(error: EngineError): void;
}

export interface Engine {
  /** Set once the worker has answered `start`. */
  readonly replayId: string | undefined;
  /** `session`, `buffer`, or `off` (before `started`, not sampled, ended, or failed). */
  readonly mode: Mode;
  /** Settles once (see {@link Ready}). */
  readonly ready: Promise<Ready>;
  /** Queues events; they are posted as one `events` message per `batchMs` window. Ignored while `mode` is `off`. */
  add(events: ReadonlyArray<object>): void;
  /**
   * An error was captured: returns synchronously whether it gets the replay (session mode: true; buffer mode: the
   * next draw the worker handed over, false when none is left; off: false) and posts `error` with that answer.
   * With `sampled` (the answer of an earlier `draw()`), no draw is taken and that answer is posted.
   */
  error(eventId?: string, sampled?: boolean): boolean;
  /**
   * Takes the next draw as `error` would, without posting anything, for a host that posts the error later (e.g.
   * once the error event was sent): pass the answer to `error(eventId, sampled)` then, once per draw, since the
   * worker counts one draw per `error` in buffer mode. Until then the mode stays as it is.
   */
  draw(): boolean;
  /** Adds a trace id (32 hex digits) to the next segment. Ignored while `mode` is `off`. */
  trace(traceId: string): void;
  /** Page visibility changed; hiding first posts the pending batch. */
  hidden(hidden: boolean): void;
  /** User input after `onPause`. */
  resume(): void;
  /** Starts a new replay after `onStopped` (with the stored session value, which the worker reads). */
  restart(): void;
  /** Posts the pending batch and asks the worker to send what is pending now. */
  flush(): void;
  /** Posts the pending batch and ends the replay; segments still pending arrive through `onSegment`. Once. */
  stop(): void;
  /**
   * The open segment to send when the page goes away (no worker round trip), or null when there is none. Posts the
   * pending batch first, so the worker keeps it too.
   */
  partial(): UnloadBody | null;
  /**
   * Call when you send `partial()` yourself: stores its session value, and its segment will not be handed over
   * again. Call `sent` once the destination accepted it. (Should the page come back from the back/forward cache,
   * the next event starts a new worker, which continues with the next segment id.)
   */
  delivered(body: UnloadBody): void;
  /** The destination accepted this segment (or unload body): the worker deletes what it kept of it. */
  sent(segment: { replayId: string; segmentId: number }): void;
  /**
   * Ends the replay (as `stop`), has the worker delete every recording it keeps for this origin, and clears the
   * stored session value (and any kept unload tail): the next start begins a new replay. For apps, e.g. on logout.
   */
  forget(): void;
}

/** The worker as the core uses it (a DOM `Worker`). */
export interface EngineWorker {
  postMessage(message: HostMessage): void;
  terminate(): void;
  onmessage: ((event: { data: WorkerMessage }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
}

/** The globals the core uses; `createEngine` takes `globalThis` unless given another (tests pass fakes). */
export interface Scope {
  Worker: new (url: string | URL | TrustedScriptURL) => EngineWorker;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  console: { warn(...args: unknown[]): void };
  location?: { href: string };
  sessionStorage?: SessionStore;
  trustedTypes?: { isScriptURL(value: unknown): boolean };
}

/** Creates the worker and starts the engine once the worker is ready. Never throws: failures go to `onError` and `ready`. */
export function createEngine(options: EngineOptions, scope?: Scope): Engine;
