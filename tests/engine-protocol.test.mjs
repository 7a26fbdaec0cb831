// The engine protocol at the message level, in a real dedicated worker: every malformed engine message gets a
// `rejected` reply that says what is wrong, nothing of it is applied, and the worker keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer } from './lib/server.mjs';
import { launchBrowser } from './lib/browser.mjs';
import { ROOT } from './lib/bundle.mjs';

let srv;
let browser;
let page;

before(async () => {
  const workerFile = path.join(ROOT, 'dist/ringflate-worker.js');
  assert.ok(fs.existsSync(workerFile), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');
  srv = await startServer();
  srv.file('/protocol.html', path.join(ROOT, 'tests/pages/protocol.html'), { 'Content-Security-Policy': "default-src 'self'; script-src 'self'; worker-src 'self'" });
  srv.file('/protocol.js', path.join(ROOT, 'tests/pages/protocol.js'));
  srv.file('/w.js', workerFile);
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(`${srv.origin}/protocol.html`);
});

after(async () => {
  await browser?.close();
  await srv?.close();
});

/** Posts `messages` to a fresh worker (all at once, before it is ready) and collects engine replies until `until`
 * replies of the given ops have arrived. */
function converse(messages, untilOps) {
  return page.evaluate(
    ([messages, untilOps]) =>
      new Promise((resolve, reject) => {
        const w = new Worker('/w.js');
        const got = [];
        const timer = setTimeout(() => reject(new Error('timeout; got ' + JSON.stringify(got.map((m) => m.op)))), 10000);
        w.onmessage = ({ data }) => {
          if (data && data.rf === 1) {
            const d = { ...data };
            for (const k of ['body', 'chunk', 'head', 'tail']) if (d[k] instanceof Uint8Array) d[k] = Array.from(d[k]);
            got.push(d);
          }
          const left = untilOps.slice();
          for (const m of got) {
            const i = left.indexOf(m.op);
            if (i >= 0) left.splice(i, 1);
          }
          if (!left.length) {
            clearTimeout(timer);
            w.terminate();
            resolve(got);
          }
        };
        for (const m of messages) w.postMessage(m);
      }),
    [messages, untilOps],
  );
}

const config = { sessionSampleRate: 1, errorSampleRate: 0, minReplayDurationMs: 0 };
const events = [
  { type: 4, timestamp: 1700000000000, data: { href: 'http://app.test/', width: 800, height: 600 } },
  { type: 2, timestamp: 1700000000001, data: { node: { type: 0, childNodes: [], id: 1 }, initialOffset: { left: 0, top: 0 } } },
  { type: 3, timestamp: 1700000000500, data: { source: 5, text: 'héllo 🎉 世界', isChecked: false, id: 7 } },
];

test('malformed engine messages are rejected with a reason, nothing is applied, the worker keeps working', async () => {
  const bad = [
    [{ rf: 1 }, /op/],
    [{ rf: 1, op: 'teleport' }, /teleport|unknown/],
    [{ rf: 2, op: 'start', config, session: null }, /version|rf/],
    [{ rf: 1, op: 'events', json: JSON.stringify(events) }, /start/],
    [{ rf: 1, op: 'start', config: { ...config, sessionSampleRate: 2 }, session: null }, /sessionSampleRate/],
    [{ rf: 1, op: 'start', config: { ...config, dsn: 'not a dsn' }, session: null }, /dsn/i],
  ];
  const afterStart = [
    [{ rf: 1, op: 'events', json: '[{"type":3,"timestamp":1}' }, /./],
    [{ rf: 1, op: 'events', json: 42 }, /json/],
    [{ rf: 1, op: 'events', json: '[{"type":3}]' }, /timestamp/],
    [{ rf: 1, op: 'hidden', hidden: 'yes' }, /hidden/],
    [{ rf: 1, op: 'error', sampled: 1 }, /sampled/],
  ];
  const messages = [
    ...bad.map(([m]) => m),
    { rf: 1, op: 'start', config, session: null },
    ...afterStart.map(([m]) => m),
    { rf: 1, op: 'events', json: JSON.stringify(events) },
    { rf: 1, op: 'flush' },
  ];
  const got = await converse(messages, [...bad.map(() => 'rejected'), ...afterStart.map(() => 'rejected'), 'segment']);
  const rejected = got.filter((m) => m.op === 'rejected');
  const expected = [...bad, ...afterStart];
  assert.equal(rejected.length, expected.length, `one rejection per malformed message: ${JSON.stringify(rejected)}`);
  rejected.forEach((r, i) => {
    assert.equal(typeof r.message, 'string');
    assert.match(r.message, expected[i][1], `rejection ${i} says what is wrong: ${r.message}`);
  });
  const started = got.find((m) => m.op === 'started');
  assert.equal(started.mode, 'session');
  const seg = got.find((m) => m.op === 'segment');
  assert.equal(seg.kind, 'plain');
  const body = Buffer.from(seg.body);
  assert.deepEqual([...body.subarray(0, 2)], [0x78, 0x9c]);
  // Only the good batch is in the recording: the rejected ones changed nothing.
  assert.equal(zlib.inflateSync(body).toString('utf8'), JSON.stringify(events));
  assert.equal(seg.eventCount, events.length);
});
