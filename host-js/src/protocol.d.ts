// The engine protocol, version 2 (worker/PROTOCOL.md): every message between a host and the ringflate worker,
// both directions, as TypeScript types. The host code is type-checked against them, and a test compares them
// field by field with what the worker's Rust side emits and reads.

/** The engine protocol version these types describe (the worker states its own in its first message). */
export type ProtocolVersion = 2;

/** `session`: recorded from the start; `buffer`: history kept until an error; `off`: not sampled, or ended. */
export type Mode = 'session' | 'buffer' | 'off';
export type ReplayType = 'session' | 'buffer';
export type StopReason = 'stop' | 'idle' | 'maxDuration' | 'segmentLimit' | 'internalError';
/** Why a message was rejected (`unavailable`: the WebAssembly engine could not start; `internal`: a trap). */
export type RejectCode =
  | 'not_object'
  | 'bad_rf'
  | 'unknown_op'
  | 'not_started'
  | 'already_started'
  | 'bad_field'
  | 'bad_batch'
  | 'unavailable'
  | 'internal';

/** `start.config`. At most one destination: `dsn` and/or `tunnel`, or `endpoint`, or `sentryClient`. */
export interface EngineConfig {
  /** Share of replays recorded from the start, 0–1. */
  sessionSampleRate: number;
  /** Share of errors (in replays not sampled above) that send the buffered history, 0–1. */
  errorSampleRate: number;
  /** Buffer mode keeps at least this much history, in ms (default 60000, at most 3600000). */
  bufferMs?: number;
  /** Cap on the compressed bytes held in buffer mode (default 10 MiB). */
  maxBufferBytes?: number;
  /** No automatic flush before the replay is this old, in ms (default 4999, capped at 50000). */
  minReplayDurationMs?: number;
  /** Sentry DSN: segments are envelopes for its envelope endpoint. */
  dsn?: string;
  /** Envelopes go to this URL instead (with a `dsn`, the envelope header carries it). */
  tunnel?: string;
  /** Plain segments (zlib recording only) for this URL, described in its query. */
  endpoint?: string;
  /** Segments are replay_recording payloads plus a replay_event, for a Sentry client that sends envelopes itself. */
  sentryClient?: boolean;
  /** Envelope and replay_event `sdk`. */
  sdk?: { name: string; version: string };
  environment?: string;
  release?: string;
  /** A replay ends this long after it started, in ms (default and maximum 3600000). */
  maxReplayDurationMs?: number;
}

// ---- host → worker -------------------------------------------------------------------------------------------

/** Start (or continue) a replay. Answered with `started`. */
export interface StartMessage {
  rf: 1;
  op: 'start';
  config: EngineConfig;
  /** The last `session.value` stored, or null (absent = null). */
  session?: string | null;
  /** The page URL, reported in the first segment's `urls`. */
  url?: string;
}
/** One batch of events: `JSON.stringify(arrayOfEvents)`, as one string. */
export interface EventsMessage {
  rf: 1;
  op: 'events';
  json: string;
  /** The host's count of `events` messages (1, 2, 3, …); a `partial` names the last one it holds. */
  seq: number;
}
/** An error the host captured; `sampled` is the draw the host used for it. */
export interface ErrorMessage {
  rf: 1;
  op: 'error';
  eventId?: string;
  sampled: boolean;
}
/** Adds a trace id (32 hex digits) to the next segment's `trace_ids`. */
export interface TraceMessage {
  rf: 1;
  op: 'trace';
  traceId: string;
}
/** Page visibility changed (`true` = hidden). */
export interface HiddenMessage {
  rf: 1;
  op: 'hidden';
  hidden: boolean;
}
/** Send what is pending now; answered with `stats` last. */
export interface FlushMessage {
  rf: 1;
  op: 'flush';
}
/** Send what is pending, then end the replay (`stopped`, reason `stop`). */
export interface StopMessage {
  rf: 1;
  op: 'stop';
}
/** User input after a `pause`. */
export interface ResumeMessage {
  rf: 1;
  op: 'resume';
}

/**
 * The destination accepted this segment (HTTP 2xx; with `sentryClient`, the client's transport resolved without
 * an error status), or the host delivered the open segment itself on unload. The worker deletes what it kept
 * for it; an unknown segment is ignored.
 */
export interface SentMessage {
  rf: 1;
  op: 'sent';
  replayId: string;
  segmentId: number;
}
/** Ends the replay and deletes every recording the worker keeps for this origin (e.g. on logout). */
export interface ForgetMessage {
  rf: 1;
  op: 'forget';
}
/** Liveness, every 500 ms while a replay runs; the worker's bootstrap answers `pong` at once. */
export interface PingMessage {
  rf: 1;
  op: 'ping';
}

export type HostMessage =
  | StartMessage
  | EventsMessage
  | ErrorMessage
  | TraceMessage
  | HiddenMessage
  | FlushMessage
  | StopMessage
  | ResumeMessage
  | SentMessage
  | ForgetMessage
  | PingMessage;

// ---- worker → host -------------------------------------------------------------------------------------------
// Bytes are transferred `Uint8Array`s over their own `ArrayBuffer` (never shared), so they are valid fetch bodies.

/** The worker's first message, always posted (Sentry's readiness message, with the engine's version). */
export interface InitMessage {
  id: undefined;
  method: 'init';
  /** false: the WebAssembly engine could not start; `response` says why and every engine message is rejected. */
  success: boolean;
  /** Why it could not start (a text starting with "ringflate: "); absent on success. */
  response?: string;
  protocol: ProtocolVersion;
  /** The package version the worker file was built from. */
  version: string;
}
/** Answer to `start`. */
export interface StartedMessage {
  rf: 1;
  op: 'started';
  replayId: string;
  mode: Mode;
  /** Error draws to queue (buffer mode; empty otherwise). */
  draws: boolean[];
  /** The next segment's id (0 for a new replay). */
  segmentId: number;
}
/** More draws: append to the queue. */
export interface DrawsMessage {
  rf: 1;
  op: 'draws';
  draws: boolean[];
}
/** Store `value` verbatim; pass it back in the next `start`. */
export interface SessionMessage {
  rf: 1;
  op: 'session';
  value: string;
}
/** Take a full snapshot now. */
export interface CheckoutMessage {
  rf: 1;
  op: 'checkout';
}
/** No user activity for a while: stop recording; post `resume` on the next user input. */
export interface PauseMessage {
  rf: 1;
  op: 'pause';
}
/** The replay ended; a later `start` begins a new one. */
export interface StoppedMessage {
  rf: 1;
  op: 'stopped';
  reason: StopReason;
}
/** The open segment so far: `head + chunks + tail` (all chunks of this `segmentId`) is a complete body. */
export interface PartialMessage {
  rf: 1;
  op: 'partial';
  segmentId: number;
  /** Compressed bytes added since the previous `partial` of the same `segmentId`. */
  chunk: Uint8Array<ArrayBuffer>;
  /** Every byte before the first chunk, as of now. */
  head: Uint8Array<ArrayBuffer>;
  /** Every byte after the last chunk, as of now. */
  tail: Uint8Array<ArrayBuffer>;
  /** The session value to store if the host delivers this partial itself. */
  session: string;
  /** Where to send it: present exactly when this segment's `segment` message would carry `url`. */
  url?: string;
  /** `sentryClient` mode: the replay_event as of now (a string of JSON). */
  replayEvent?: string;
  /** The last `events.seq` whose events this segment holds (0: none yet). */
  seq: number;
  /** Events in the open segment so far. */
  eventCount: number;
  /**
   * Adler-32 (as a number) of the segment's inflated text so far: `[` and its events' texts joined with `,`,
   * without the closing `]`. The last chunk ends on a sync flush, so the stream is byte-aligned after it.
   */
  adler: number;
}
/** A finished segment: send `body` (to `url`, when there is one). */
export interface SegmentMessage {
  rf: 1;
  op: 'segment';
  replayId: string;
  segmentId: number;
  replayType: ReplayType;
  /** First and last event timestamps (ms). */
  start: number;
  end: number;
  eventCount: number;
  /** `envelope`: a complete Sentry envelope; `plain`: the zlib stream alone; `recording`: a replay_recording payload. */
  kind: 'envelope' | 'plain' | 'recording';
  /** Where to POST `body` (absent for `recording`, and for `plain` without an `endpoint`). */
  url?: string;
  body: Uint8Array<ArrayBuffer>;
  /** `recording` only: the replay_event (a string of JSON) the Sentry client completes and sends with `body`. */
  replayEvent?: string;
}
/** A malformed engine message; nothing of it was applied. */
export interface RejectedMessage {
  rf: 1;
  op: 'rejected';
  /** The rejected message's `op`, if it was a string. */
  of: string | null;
  code: RejectCode;
  /** Starts with "ringflate: ". */
  message: string;
}
/** Counters, posted after `flush`. */
export interface StatsMessage {
  rf: 1;
  op: 'stats';
  events: number;
  eventBytes: number;
  compressedInputBytes: number;
  segments: number;
  segmentBytes: number;
  bufferBytes: number;
  droppedGenerations: number;
  droppedBytes: number;
  /** Bytes the worker keeps in persistent storage (IndexedDB). */
  storedBytes: number;
  /** Segments and buffer generations dropped from persistent storage by its byte cap or age limit. */
  storeDropped: number;
}

export type EngineMessage =
  | StartedMessage
  | DrawsMessage
  | SessionMessage
  | CheckoutMessage
  | PauseMessage
  | StoppedMessage
  | PartialMessage
  | SegmentMessage
  | RejectedMessage
  | StatsMessage
  | PongMessage;

/** The bootstrap's answer to `ping`. */
export interface PongMessage {
  rf: 1;
  op: 'pong';
}

/**
 * A trap inside the module, answered by the bootstrap (not the engine): `code` is `internal`, and `seq` is the
 * `seq` of the last `events` message the trapped instance received (null: none). The new instance continues
 * the replay with the next segment; the host completes the trapped instance's open segment from its partials
 * and its batches up to `seq`.
 */
export interface TrapMessage extends RejectedMessage {
  code: 'internal';
  seq: number | null;
}

/** Everything the worker posts to an engine-mode host. */
export type WorkerMessage = InitMessage | EngineMessage | TrapMessage;
