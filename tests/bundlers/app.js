// The app both bundler builds share: Sentry with Session Replay, compressing in ringflate's worker.
// `workerUrl` comes from the entry file, which is the only bundler-specific part.
import * as Sentry from '@sentry/browser';

window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile });
});

export function start(workerUrl) {
  Sentry.init({
    dsn: 'https://0123456789abcdef0123456789abcdef@o0.ingest.example/4242',
    tunnel: '/tunnel',
    release: 'bundled-app@1.0.0',
    replaysSessionSampleRate: 1,
    replaysOnErrorSampleRate: 0,
    integrations: [
      Sentry.replayIntegration({
        workerUrl,
        maskAllText: false,
        maskAllInputs: false,
        flushMinDelay: 200,
        flushMaxDelay: 600,
        minReplayDuration: 0,
      }),
    ],
  });
  document.getElementById('send').addEventListener('click', () => {
    document.getElementById('status').textContent = `Thanks, we got: ${document.getElementById('question').value}`;
  });
  window.Sentry = Sentry; // for the test to read the replay's state
  window.__workerUrl = String(workerUrl);
  window.__appReady = true;
}
