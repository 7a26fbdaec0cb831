// @sentry/browser with ringflateReplay: the ringflate worker owns the replay (sampling, a two-minute buffer,
// segments, compression), the SDK keeps breadcrumbs, errors and its transport.
import * as Sentry from '@sentry/browser';
import { ringflateReplay } from '../../host-js/src/sentry.js';
import { dsn, status, wireDemo } from './shared.js';

const buffer = new URLSearchParams(location.search).get('mode') === 'buffer';
const replay = ringflateReplay({
  workerUrl: '/ringflate-worker.js',
  bufferMs: 120_000,
  maskAllText: false,
  maskAllInputs: false,
});
Sentry.init({
  dsn,
  integrations: [replay],
  replaysSessionSampleRate: buffer ? 0 : 1,
  replaysOnErrorSampleRate: 1,
});

wireDemo({
  onFlush: () => replay.flush(),
  onBoom: (err) => Sentry.captureException(err),
});

const show = () => {
  status(
    `ringflate replay ${replay.getReplayId() ?? '(starting)'} in ${buffer ? 'buffer' : 'session'} mode.\n` +
      'The worker decides and compresses; every segment goes out through the Sentry client to this server.' +
      (buffer ? '' : '\nOpen ?mode=buffer (in a new tab) to keep two minutes of history that is sent only when an error happens.'),
  );
};
show();
setInterval(show, 2000);
