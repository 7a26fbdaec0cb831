// @sentry/browser with ringflate as its compression worker (workerUrl).
import * as Sentry from '@sentry/browser';
import { dsn, status, wireDemo } from './shared.js';

const buffer = new URLSearchParams(location.search).get('mode') === 'buffer';
Sentry.init({
  dsn,
  integrations: [
    Sentry.replayIntegration({
      workerUrl: '/ringflate-worker.js',
      maskAllText: false,
      maskAllInputs: false,
      blockAllMedia: true,
    }),
  ],
  replaysSessionSampleRate: buffer ? 0 : 1,
  replaysOnErrorSampleRate: 1,
});

wireDemo({
  onFlush: () => Sentry.getReplay()?.flush(),
  onBoom: (err) => Sentry.captureException(err),
});

const show = () => {
  const replay = Sentry.getReplay();
  status(
    `Sentry replay ${replay?.getReplayId() ?? '(starting)'} in ${buffer ? 'buffer' : 'session'} mode.\n` +
      `Compression runs in /ringflate-worker.js; segments go to this server's ingest endpoint.` +
      (buffer ? '' : '\nOpen ?mode=buffer to record into a buffer that is sent only when an error happens.'),
  );
};
show();
setInterval(show, 2000);
