// ringflate in Electron, for content served over http(s) (a dev server, a remote app): one CSP for the pages,
// another for the worker file, set on the responses with session.webRequest.onHeadersReceived.
//
// Stamping one CSP on every response (the usual Electron recipe) sends `script-src 'self'` with the worker file
// too, and WebAssembly is then refused inside the worker. The policies and the rule are in electron-csp.cjs.
//
// Other origins: an app:// scheme → electron-protocol.cjs (protocol.handle sets the headers itself);
// loadFile() (file://) → electron-file.html (the page's policy in a <meta> tag, the worker file without one).
const { app, BrowserWindow, session } = require('electron');
const { cspFor } = require('./electron-csp.cjs');

function installCsp(ses) {
  ses.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders = { ...details.responseHeaders };
    for (const name of Object.keys(responseHeaders)) {
      if (name.toLowerCase() === 'content-security-policy') delete responseHeaders[name];
    }
    responseHeaders['Content-Security-Policy'] = [cspFor(details.url)];
    callback({ responseHeaders });
  });
}

app.whenReady().then(() => {
  installCsp(session.defaultSession);
  const win = new BrowserWindow({ width: 1200, height: 800 });
  win.loadURL(process.env.APP_URL || 'http://localhost:5173/');
});

module.exports = { installCsp };
