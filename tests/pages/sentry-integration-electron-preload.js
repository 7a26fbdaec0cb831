// Stands in for @sentry/electron's preload script (src/preload/index.ts, hookupIpc): it exposes
// window.__SENTRY_IPC__['sentry-ipc'] with the same methods. Where the real one calls ipcRenderer.send(…) to the
// main process, this one hands the message to the stand-in main process: the test server (`?main=<url>`), which
// plays the part of the main process sending envelopes to Sentry. Every message is also kept in
// window.__ipc for the test.
'use strict';
(function () {
  var main = new URLSearchParams(location.search).get('main');
  var sent = (window.__ipc = []);
  // Like ipcRenderer.send: fire and forget. The body arrives as the renderer transport serialized it.
  function send(channel, body) {
    sent.push({ channel: channel, bytes: typeof body === 'string' ? body.length : body.byteLength });
    fetch(main + '?channel=' + channel, { method: 'POST', body: body }).catch(function () {});
  }
  window.__SENTRY_IPC__ = window.__SENTRY_IPC__ || {};
  window.__SENTRY_IPC__['sentry-ipc'] = {
    sendRendererStart: function () { send('sentry-ipc.start', ''); },
    sendScope: function (scopeJson) { send('sentry-ipc.scope', scopeJson); },
    sendEnvelope: function (envelope) { send('sentry-ipc.envelope', envelope); },
    sendFeedback: function (envelope) { send('sentry-ipc.feedback', envelope); return Promise.resolve({}); },
    sendStatus: function (status) { send('sentry-ipc.status', JSON.stringify(status)); },
    sendStructuredLog: function (log) { send('sentry-ipc.structured-log', JSON.stringify(log)); },
    sendMetric: function (metric) { send('sentry-ipc.metric', JSON.stringify(metric)); },
  };
})();
