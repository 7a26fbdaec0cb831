// An Electron renderer's code: the real @sentry/electron/renderer SDK with ringflateReplay. Without a dsn the
// renderer SDK sends every envelope over the preload's IPC bridge to the main process.
import * as Sentry from '@sentry/electron/renderer';
import { ringflateReplay } from '../../host-js/src/sentry.js';

const q = new URLSearchParams(location.search);
window.Sentry = Sentry;
window.__logs = [];
for (const level of ['error', 'warn', 'log']) {
  const orig = console[level].bind(console);
  console[level] = (...args) => {
    window.__logs.push({ level, text: args.map(String).join(' ') });
    orig(...args);
  };
}
Sentry.init({
  debug: true,
  replaysSessionSampleRate: 1,
  replaysOnErrorSampleRate: 0,
  integrations: [ringflateReplay({ workerUrl: q.get('worker'), maskAllText: false, maskAllInputs: false, minReplayDuration: 0 })],
});
window.__replay = () => Sentry.getClient()?.getIntegrationByName('RingflateReplay');
document.getElementById('send').addEventListener('click', () => {
  document.getElementById('status').textContent = 'Question sent: ' + document.getElementById('question').value;
});
window.__appReady = true;
