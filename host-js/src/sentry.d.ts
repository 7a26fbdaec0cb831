import type { TrustedScriptURL } from './core';

/**
 * Options of {@link ringflateReplay}. Sample rates come from `Sentry.init` (`replaysSessionSampleRate`,
 * `replaysOnErrorSampleRate`), as with Sentry's `replayIntegration`; the privacy options mean what they mean there.
 */
export interface RingflateReplayOptions {
  /** URL of `ringflate-worker.js` served by your app: a string, a `URL` or a Trusted Types `TrustedScriptURL`. */
  workerUrl: string | URL | TrustedScriptURL;
  /** Buffer mode keeps at least this much history before an error, in ms (default 60000, at most 3600000). */
  bufferMs?: number;
  /** Cap on the compressed buffer, in bytes (default 10 MiB). */
  maxBufferBytes?: number;
  /** A replay shorter than this is not sent yet, in ms (default 4999, capped at 50000). */
  minReplayDuration?: number;
  /** A replay ends after this long and a new one starts at the next user input, in ms (default and maximum 3600000). */
  maxReplayDuration?: number;
  /** Mask all text (default true). */
  maskAllText?: boolean;
  /** Mask all inputs (default true). */
  maskAllInputs?: boolean;
  /** Block all media: images, video, svg, audio… (default true). */
  blockAllMedia?: boolean;
  /** Selectors whose text is masked, beside `.sentry-mask` and `[data-sentry-mask]`. */
  mask?: string[];
  /** Selectors whose text is not masked. */
  unmask?: string[];
  /** Selectors of elements recorded as empty boxes, beside `.sentry-block` and `[data-sentry-block]`. */
  block?: string[];
  /** Selectors not blocked. */
  unblock?: string[];
  /** Selectors of inputs whose changes are not recorded, beside `.sentry-ignore` and `[data-sentry-ignore]`. */
  ignore?: string[];
  /** Attributes masked like text (default `['title', 'placeholder', 'aria-label']`). */
  maskAttributes?: string[];
  /** Replaces masked text and inputs (default: every character becomes `*`). */
  maskFn?: (text: string) => string;
  /** Events are posted to the worker at most this often, in one message (default 1000 ms). */
  batchMs?: number;
}

/**
 * The integration object `Sentry.init({ integrations: [...] })` takes. The SDK's own types (client, event) are
 * left as `any` so the one declaration fits @sentry/browser 10 and 11 and @sentry/electron's renderer alike.
 */
export interface RingflateReplayIntegration {
  name: 'RingflateReplay';
  afterAllSetup(client: any): void;
  processEvent(event: any, hint: any): any;
  processSpan(span: any): void;
  /** The replay id while recording (session or buffer mode), else undefined. */
  getReplayId(): string | undefined;
  /** Buffer mode: send the buffered history now and continue as a session; session mode: send what is pending. */
  flush(): void;
  /** Send what is pending and stop recording. */
  stop(): void;
  /**
   * Stop recording and have the worker delete every recording it keeps for this origin (IndexedDB) and the stored
   * session value, e.g. when the user logs out. Segments already handed to the client are still sent.
   */
  forget(): void;
}

/**
 * Sentry Session Replay with the ringflate worker owning sampling, the buffer, segments and compression.
 * Envelopes go out through the Sentry client (`tunnel`, custom transports and Electron's IPC transport apply).
 *
 * ```js
 * Sentry.init({ dsn, replaysSessionSampleRate: 0.1, replaysOnErrorSampleRate: 1,
 *   integrations: [ringflateReplay({ workerUrl: '/assets/ringflate-worker.js', bufferMs: 120_000 })] });
 * ```
 */
export function ringflateReplay(options: RingflateReplayOptions): RingflateReplayIntegration;
