// The browser engines a test can run its cases in, behind one small interface: Debian's Chromium through
// Playwright (./browser.mjs) and Debian's Firefox ESR through Puppeteer over WebDriver BiDi (./firefox.mjs).
// Their page APIs agree on goto, click, keyboard.type, evaluate and close; where they differ (the argument
// order of waitForFunction, a plain wait), the engine object speaks for its page.
//
//   for (const engine of ENGINES) describe(engine.name, () => { ... engine.launch() ... engine.waitFor(page, fn, arg, ms) });
import { launchBrowser } from './browser.mjs';
import { launchFirefox, firefoxVersion, sleep } from './firefox.mjs';

export const ENGINES = [
  {
    name: 'Chromium',
    userAgent: /Chrome\//,
    /** How the engine words a worker CSP without 'wasm-unsafe-eval' (kept in the worker's message). */
    wasmRefused: /Browser said: WebAssembly\.compile\(\): Compiling or instantiating WebAssembly module violates the following Content Security policy directive/,
    launch: () => launchBrowser(),
    /** Resolves with the handle of `fn(arg)`'s first truthy value within `ms`. */
    waitFor: (page, fn, arg, ms) => page.waitForFunction(fn, arg, { timeout: ms }),
    wait: (page, ms) => page.waitForTimeout(ms),
  },
  {
    name: `Firefox ${firefoxVersion()}`,
    userAgent: /Firefox\//,
    wasmRefused: /Browser said: call to WebAssembly\.(compile|instantiate)\(\) blocked by CSP/,
    launch: () => launchFirefox(),
    waitFor: (page, fn, arg, ms) => page.waitForFunction(fn, { timeout: ms }, arg),
    wait: (_page, ms) => sleep(ms),
  },
];
