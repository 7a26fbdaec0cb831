// The app's own script: starts Sentry with Session Replay and a custom compression worker. Settings come from
// the query string so one page serves every scenario:
//   ?dsn=<dsn>&worker=<workerUrl>&mode=session|buffer[&tunnel=<path>]
'use strict';
(function () {
  var q = new URLSearchParams(location.search);
  var mode = q.get('mode') || 'session';
  window.Sentry.init({
    dsn: q.get('dsn'),
    tunnel: q.get('tunnel') || undefined,
    release: 'acme-orders@1.0.0',
    environment: 'test',
    replaysSessionSampleRate: mode === 'session' ? 1 : 0,
    replaysOnErrorSampleRate: mode === 'buffer' ? 1 : 0,
    integrations: [
      window.Sentry.replayIntegration({
        workerUrl: q.get('worker'),
        maskAllText: false,
        maskAllInputs: false,
        // Short timings so segments go out quickly.
        flushMinDelay: 200,
        flushMaxDelay: 600,
        minReplayDuration: 0,
      }),
    ],
  });
  document.getElementById('send').addEventListener('click', function () {
    document.getElementById('status').textContent = 'Thanks, we got: ' + document.getElementById('question').value;
  });
  window.__appReady = true;
})();
