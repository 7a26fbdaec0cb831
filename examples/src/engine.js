// Engine mode: rrweb records, the ringflate host script posts batches, the
// worker does the rest (sampling, buffer, compression, segments, envelopes).
import * as rrweb from 'rrweb';
import { startReplay } from '../../host-js/src/index.js';
import { dsn, status, wireDemo } from './shared.js';

const buffer = new URLSearchParams(location.search).get('mode') === 'buffer';
let sent = 0;
let bytes = 0;
const replay = startReplay({
  workerUrl: '/ringflate-worker.js',
  dsn,
  sessionSampleRate: buffer ? 0 : 1,
  errorSampleRate: 1,
  rrweb,
  record: { maskAllInputs: false, checkoutEveryNms: 0 },
  onSegment: (s) => {
    sent++;
    bytes += s.body.length;
    show();
  },
  onError: (e) => status(String(e)),
});

const show = () =>
  status(
    `replay ${replay.replayId ?? '(starting)'} · mode ${replay.mode} · ${sent} segments handed over (${bytes} bytes)\n` +
      (buffer ? 'Buffer mode: press "Throw an error" to send the history.' : 'Open ?mode=buffer for buffer-on-error.'),
  );
replay.ready.then(show);

wireDemo({
  onFlush: () => replay.flush(),
  onBoom: (err) => {
    const sampled = replay.captureError(err);
    status(`error captured; replay attached: ${sampled}`);
  },
});
