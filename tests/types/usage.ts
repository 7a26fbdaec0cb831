// Compiled (not run) by tests/host-types.test.mjs: the shipped types accept real usage and reject mistakes.
import { startReplay, type Replay, type Segment } from 'ringflate';

const replay: Replay = startReplay({
  workerUrl: '/assets/ringflate-worker.js',
  dsn: 'https://public@o0.ingest.example/1',
  sessionSampleRate: 0.1,
  errorSampleRate: 1,
  bufferMs: 60_000,
  record: { maskAllInputs: true },
  onSegment: (s: Segment) => void s.body.byteLength,
});
const sampled: boolean = replay.captureError(new Error('x'), { eventId: 'abc' });
replay.addEvents([{ type: 3, timestamp: Date.now(), data: {} }]);
replay.ready.then((r) => (r.error ? r.error.message : [r.replayId.length, r.mode === 'buffer']));
// @ts-expect-error replayId is undefined when the worker could not start: check `error` first
replay.ready.then((r) => r.replayId.length);
replay.trace('0123456789abcdef0123456789abcdef');
declare const policy: { createScriptURL(input: string): { toString(): string; toJSON(): string } };
startReplay({ workerUrl: policy.createScriptURL(''), endpoint: '/replays', onError: (e) => void e.code });
startReplay({ workerUrl: new URL('/w.js', 'https://app.example'), transport: (s) => fetch('/r', { method: 'POST', body: s.body }) });
replay.flush();
replay.stop();
void sampled;

// @ts-expect-error workerUrl is required
startReplay({ dsn: 'https://public@o0.ingest.example/1' });
// @ts-expect-error workerUrl is a URL, not any object
startReplay({ workerUrl: { href: '/w.js' }, dsn: 'https://public@o0.ingest.example/1' });
// @ts-expect-error replayType is 'session' | 'buffer'
const wrong: Segment['replayType'] = 'off';
void wrong;

// The engine core, for hosts of their own.
import { createEngine, VERSION, type protocol, type UnloadBody } from 'ringflate';
const engine = createEngine({
  workerUrl: '/w.js',
  config: { sessionSampleRate: 1, errorSampleRate: 0, sentryClient: true },
  storage: null,
  onSegment: (s: protocol.SegmentMessage) => void (s.kind === 'recording' && s.replayEvent),
});
const unload: UnloadBody | null = engine.partial();
if (unload) engine.delivered(unload);
const sampledByCore: boolean = engine.error('id');
void [VERSION.length, sampledByCore];
// @ts-expect-error config needs its sample rates
createEngine({ workerUrl: '/w.js', config: {} });
