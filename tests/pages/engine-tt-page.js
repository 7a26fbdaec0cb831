// Engine mode on a page that enforces Trusted Types (require-trusted-types-for 'script'). `?tt=1` passes
// workerUrl as a TrustedScriptURL from the one-line policy the host-js README shows; otherwise a plain string.
// The test reads window.__tt.
import * as rrweb from 'rrweb';
import { startReplay } from '../../host-js/src/index.js';

const q = new URLSearchParams(location.search);
const state = (window.__tt = { errors: [], ready: null, threw: null });
const path = q.get('worker');

try {
  const workerUrl =
    q.get('tt') === '1' ? trustedTypes.createPolicy('ringflate', { createScriptURL: () => path }).createScriptURL('') : path;
  const replay = startReplay({
    workerUrl,
    dsn: q.get('dsn'),
    sessionSampleRate: 1,
    minReplayDurationMs: 0,
    rrweb,
    record: { maskAllInputs: false },
    onError: (e) => state.errors.push(e.message),
  });
  state.replay = replay;
  replay.ready.then((r) => {
    state.ready = { replayId: r.replayId, mode: r.mode, error: r.error ? r.error.message : null };
  });
} catch (e) {
  state.threw = String(e && e.message);
}
