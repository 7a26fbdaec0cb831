// Engine-mode test page: real rrweb + the ringflate host script. Options come
// from the query string; the test reads state from window.__engine.
import * as rrweb from 'rrweb';
import { startReplay } from '../../host-js/src/index.js';

const q = new URLSearchParams(location.search);
const num = (k) => (q.has(k) ? Number(q.get(k)) : undefined);
const state = (window.__engine = { segments: [], errors: [], checkouts: 0, answered: 0 });

// Answers the page has received from the ingest (the host reports a segment `sent` on its answer).
const fetch0 = window.fetch;
window.fetch = (...a) => fetch0(...a).then((r) => (state.answered++, r));

const takeFullSnapshot = rrweb.record.takeFullSnapshot;
rrweb.record.takeFullSnapshot = (...a) => {
  state.checkouts++;
  return takeFullSnapshot(...a);
};

const replay = startReplay({
  workerUrl: q.get('worker'),
  dsn: q.get('dsn'),
  sessionSampleRate: num('session') ?? 1,
  errorSampleRate: num('error') ?? 0,
  bufferMs: num('bufferMs'),
  minReplayDurationMs: num('minMs'),
  rrweb,
  record: { maskAllInputs: false },
  onSegment: (s) => state.segments.push({ segmentId: s.segmentId, replayType: s.replayType, bytes: s.body.length }),
  onError: (e) => state.errors.push(String(e.message || e)),
});
state.replay = replay;
state.startReplay = startReplay;
replay.ready.then(({ replayId, mode, error }) => {
  state.replayId = replayId;
  state.mode = mode;
  state.ready = { replayId, mode, error: error ? error.message : null };
});

document.getElementById('send').addEventListener('click', () => {
  document.getElementById('status').textContent = 'Question sent: ' + document.getElementById('question').value;
});
