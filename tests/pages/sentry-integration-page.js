// Test page for ringflate/sentry: the real @sentry/browser with either ringflateReplay or, as the control,
// Sentry's own replayIntegration (using the ringflate worker file as its compression worker). Settings come
// from the query string:
//   ?dsn=<dsn>&worker=<workerUrl>&which=ringflate|sentry&mode=session|buffer[&tunnel=<path>][&bufferMs=<ms>]
//   [&noDsn=1][&twice=1][&noWorker=1][&maxReplayDuration=<ms>]
import * as Sentry from '@sentry/browser';
import { ringflateReplay } from '../../host-js/src/sentry.js';

const q = new URLSearchParams(location.search);
const mode = q.get('mode') || 'session';
const which = q.get('which') || 'ringflate';
const num = (k) => (q.has(k) ? Number(q.get(k)) : undefined);
window.Sentry = Sentry;
// The `sent` messages posted to the worker (segment ids the destination accepted), for the test.
window.__sent = [];
const post = Worker.prototype.postMessage;
Worker.prototype.postMessage = function (m, ...rest) {
  if (m && m.op === 'sent') window.__sent.push(m);
  return post.call(this, m, ...rest);
};
window.__logs = [];
// The SDK logger writes through the console: keep what it said for the test.
for (const level of ['error', 'warn', 'log']) {
  const orig = console[level].bind(console);
  console[level] = (...args) => {
    window.__logs.push({ level, text: args.map(String).join(' ') });
    orig(...args);
  };
}

const privacy = { maskAllText: false, maskAllInputs: false, minReplayDuration: 0 };
const integrations = [Sentry.browserTracingIntegration()];
if (which === 'ringflate' || which === 'both') {
  integrations.push(ringflateReplay({ workerUrl: q.has('noWorker') ? undefined : q.get('worker'), bufferMs: num('bufferMs'), maxReplayDuration: num('maxReplayDuration'), ...privacy }));
  if (q.has('twice')) integrations.push(ringflateReplay({ workerUrl: q.get('worker'), ...privacy }));
}
if (which === 'sentry' || which === 'both') {
  // Short flush delays make the control's segments come quickly; `sentryDefaults` keeps Sentry's own (5 s / 5.5 s).
  const delays = q.has('sentryDefaults') ? {} : { flushMinDelay: 200, flushMaxDelay: 600 };
  integrations.push(Sentry.replayIntegration({ workerUrl: q.get('worker') || undefined, ...delays, ...privacy }));
}
Sentry.init({
  dsn: q.has('noDsn') ? undefined : q.get('dsn'),
  tunnel: q.get('tunnel') || undefined,
  debug: true,
  release: 'acme-orders@1.0.0',
  environment: 'test',
  tracesSampleRate: 1,
  // Client reports carry no sent_at, which the strict test ingest refuses.
  sendClientReports: false,
  replaysSessionSampleRate: mode === 'session' ? 1 : 0,
  replaysOnErrorSampleRate: mode === 'buffer' ? 1 : 0,
  integrations,
  // An exception whose message starts with "dropped" is never sent (for the after-send linking).
  beforeSend: (event) => (String(event.exception?.values?.[0]?.value).startsWith('dropped') ? null : event),
});

window.__replay = () => Sentry.getClient()?.getIntegrationByName(which === 'sentry' ? 'Replay' : 'RingflateReplay');

document.getElementById('send').addEventListener('click', () => {
  // Long enough to be an interaction INP reports (over 40 ms).
  const until = performance.now() + 80;
  while (performance.now() < until);
  document.getElementById('status').textContent = 'Question sent: ' + document.getElementById('question').value;
});
document.getElementById('refresh').addEventListener('click', () => {
  fetch('/api/orders?page=1').then((r) => r.json()).then((d) => {
    document.getElementById('status').textContent = 'Orders: ' + d.orders.length;
  });
});
// A layout shift without input, for CLS.
setTimeout(() => {
  const p = document.createElement('p');
  p.textContent = 'Free shipping this week on orders over 50 EUR.';
  p.style.height = '60px';
  document.querySelector('main').prepend(p);
  window.__shifted = true;
}, 400);
// A scripted burst of page activity for measurements: `n` DOM changes, one every 5 ms.
window.__churn = (n) =>
  new Promise((resolve) => {
    const list = document.createElement('ul');
    document.querySelector('main').append(list);
    let i = 0;
    const tick = () => {
      const li = document.createElement('li');
      li.textContent = `Order ${1000 + i} updated at step ${i}`;
      li.style.color = i % 2 ? 'teal' : 'navy';
      list.append(li);
      if (list.children.length > 40) list.firstChild.remove();
      if (++i < n) setTimeout(tick, 5);
      else resolve();
    };
    tick();
  });
window.__appReady = true;
