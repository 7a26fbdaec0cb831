// The built worker (dist/ringflate-worker.js) in a dedicated worker of a real Chromium page, spoken to with
// Sentry's message protocol (docs/sentry-worker-protocol.md). Every compressed result is inflated with
// node's zlib (78 9C header, complete stream, nothing after the Adler-32) and compared as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer } from './lib/server.mjs';
import { launchBrowser, watchPage } from './lib/browser.mjs';
import { inflateStrict } from './lib/envelope.mjs';
import { corpusLines, seeded } from './lib/corpus.mjs';
import { ROOT } from './lib/bundle.mjs';

const WORKER_FILE = path.join(ROOT, 'dist/ringflate-worker.js');
const WORKER = '/ringflate-worker.js';
const PAGE_CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'";

let srv;
let browser;
let page;
let seen;

before(async () => {
  assert.ok(fs.existsSync(WORKER_FILE), `${WORKER_FILE} is missing: run node worker/build.mjs first`);
  srv = await startServer();
  srv.file('/protocol.html', path.join(ROOT, 'tests/pages/protocol.html'), { 'Content-Security-Policy': PAGE_CSP });
  srv.file('/protocol.js', path.join(ROOT, 'tests/pages/protocol.js'));
  srv.file(WORKER, WORKER_FILE);
  browser = await launchBrowser();
  page = await browser.newPage();
  seen = watchPage(page);
  await page.goto(`${srv.origin}/protocol.html`);
});

after(async () => {
  await browser?.close();
  await srv?.close();
});

/** Posts `messages` to a fresh worker at once and returns the first `count` messages it posts back. */
async function run(messages, count, timeoutMs = 20000) {
  const res = await page.evaluate(([url, msgs, n, t]) => window.rf.run(url, msgs, n, t), [WORKER, messages, count, timeoutMs]);
  assert.deepEqual(res.errors, [], `worker raised error events; console:\n${seen.describe()}`);
  return res.messages;
}

function assertInit(m) {
  assert.equal(m.method, 'init', `first message must be the init message, got ${JSON.stringify(m)}`);
  assert.equal(m.success, true, `worker failed to start: ${m.response}`);
  assert.ok(m.keys.includes('id') && m.id === undefined, 'init message has id: undefined');
  assert.equal(m.responseType, 'undefined');
}

/** Inflates a finish response strictly and returns its text. */
function finishText(m, what) {
  assert.equal(m.success, true, `${what}: finish failed: ${m.response}`);
  assert.equal(m.responseType, 'Uint8Array', `${what}: finish must answer a Uint8Array`);
  const bytes = Buffer.from(m.base64, 'base64');
  return new TextDecoder('utf-8', { fatal: true }).decode(inflateStrict(bytes, what));
}

const ev = (i, extra = {}) => JSON.stringify({ type: 3, timestamp: 1700000000000 + i, data: { source: 2, type: 2, id: i, ...extra } });

test('messages posted before the worker is ready are answered in order after the init message', async () => {
  const e = [ev(1), ev(2), ev(3), ev(4, { text: 'é中😀' })];
  const msgs = [
    { id: 0, method: 'addEvent', arg: e[0] },
    { id: 1, method: 'addEvent', arg: e[1] },
    { id: 2, method: 'finish' },
    { id: 3, method: 'finish' },
    { id: 4, method: 'addEvent', arg: e[2] },
    { id: 5, method: 'clear' },
    { id: 6, method: 'addEvent', arg: e[3] },
    { id: 7, method: 'finish' },
  ];
  const got = await run(msgs, 1 + msgs.length);
  assert.equal(got.length, 1 + msgs.length, `unexpected extra messages: ${JSON.stringify(got.slice(msgs.length + 1))}`);
  assertInit(got[0]);
  const replies = got.slice(1);
  assert.deepEqual(replies.map((r) => r.id), msgs.map((m) => m.id), 'replies come in request order');
  assert.deepEqual(replies.map((r) => r.method), msgs.map((m) => m.method), 'each reply names its request method');
  for (const r of replies) assert.equal(r.success, true, `reply ${r.id} (${r.method}) failed: ${r.response}`);
  for (const i of [0, 1, 4, 5, 6]) assert.equal(replies[i].responseType, 'undefined', `${msgs[i].method} answers undefined`);
  assert.equal(finishText(replies[2], 'first finish'), `[${e[0]},${e[1]}]`);
  assert.equal(finishText(replies[3], 'second finish'), '[]', 'finish starts a new stream at once');
  assert.equal(finishText(replies[7], 'finish after clear'), `[${e[3]}]`, 'clear discards the stream');
});

test('clear ignores its argument, compress answers a gzip of the UTF-8 string', async () => {
  const text = 'plain ascii, é, 中文, 😀, and a long run ' + 'abc'.repeat(5000);
  const msgs = [
    { id: 0, method: 'addEvent', arg: ev(10) },
    { id: 1, method: 'clear', arg: 'buffer' },
    { id: 2, method: 'addEvent', arg: ev(11) },
    { id: 3, method: 'compress', arg: text },
    { id: 4, method: 'finish' },
  ];
  const got = await run(msgs, 1 + msgs.length);
  assertInit(got[0]);
  const r = got.slice(1);
  assert.deepEqual(r.map((x) => [x.id, x.method, x.success]), msgs.map((m) => [m.id, m.method, true]));
  assert.equal(r[3].responseType, 'Uint8Array');
  const gz = Buffer.from(r[3].base64, 'base64');
  assert.deepEqual([...gz.subarray(0, 2)], [0x1f, 0x8b], 'compress answers gzip');
  assert.equal(zlib.gunzipSync(gz).toString('utf8'), text);
  assert.equal(finishText(r[4], 'finish'), `[${ev(11)}]`, "clear('buffer') clears like clear()");
});

test('a seeded random interleaving of addEvent/clear/finish matches the model', async () => {
  const rand = seeded(0x5eed1);
  // Real events: everything up to 16 KB from two corpus files, plus a few checkouts.
  const pool = [];
  for (const name of ['d4-spa-live-unmasked', 'd3-css-shadow-iframe']) {
    for (const line of corpusLines(name)) if (line.length <= 16384) pool.push(line);
  }
  const big = corpusLines('d4-spa-live-unmasked').filter((l) => l.length > 16384).slice(0, 3);
  assert.ok(pool.length > 1000 && big.length === 3, 'corpus loaded');
  const unicode = [
    { type: 5, timestamp: 1700000000001, data: { tag: 'breadcrumb', payload: { message: 'emoji 😀👍🏽🇩🇪 family 👨‍👩‍👧' } } },
    { type: 5, timestamp: 1700000000002, data: { tag: 'breadcrumb', payload: { message: '中文 日本語 한국어 — “quotes” ü ß' } } },
    { type: 3, timestamp: 1700000000003, data: { source: 5, text: 'lone \uD800 high, lone \uDFFF low, pair \uD83D\uDE00', id: 7 } },
    { type: 3, timestamp: 1700000000004, data: { source: 0, texts: [{ id: 1, value: '\u0000\u001f\u2028\u2029\\"' }] } },
  ].map((o) => JSON.stringify(o));
  assert.ok(unicode[2].includes('\\ud800') && unicode[2].includes('\\udfff'), 'JSON.stringify escapes lone surrogates');

  const msgs = [];
  const expected = new Map(); // id → expected finish text
  let model = [];
  const N = 400;
  for (let i = 0; i < N; i++) {
    const r = rand();
    const id = msgs.length;
    if (i === N - 1 || r < 0.12) {
      msgs.push({ id, method: 'finish' });
      expected.set(id, `[${model.join(',')}]`);
      model = [];
    } else if (r < 0.18) {
      msgs.push(rand() < 0.5 ? { id, method: 'clear' } : { id, method: 'clear', arg: 'buffer' });
      model = [];
    } else {
      const x = rand();
      const e = x < 0.08 ? unicode[Math.floor(rand() * unicode.length)]
        : x < 0.1 ? big[Math.floor(rand() * big.length)]
          : pool[Math.floor(rand() * pool.length)];
      msgs.push({ id, method: 'addEvent', arg: e });
      model.push(e);
    }
  }
  assert.ok(expected.size >= 30, `the sequence has ${expected.size} finishes`);
  const got = await run(msgs, 1 + msgs.length, 60000);
  assertInit(got[0]);
  const replies = got.slice(1);
  assert.equal(replies.length, msgs.length, 'one reply per message, no extras');
  let nonEmpty = 0;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    const r = replies[i];
    assert.equal(r.id, m.id, `reply ${i} is for id ${r.id}, expected ${m.id} (order)`);
    assert.equal(r.method, m.method);
    assert.equal(r.success, true, `op ${m.id} ${m.method} failed: ${r.response}`);
    if (m.method === 'finish') {
      const text = finishText(r, `finish id ${m.id}`);
      const want = expected.get(m.id);
      if (text !== want) {
        let at = 0;
        while (at < text.length && text[at] === want[at]) at++;
        assert.fail(`finish id ${m.id}: inflated text differs from the model at char ${at} of ${want.length}: ` +
          `got ${JSON.stringify(text.slice(at, at + 80))}, want ${JSON.stringify(want.slice(at, at + 80))}`);
      }
      if (want !== '[]') nonEmpty++;
      assert.doesNotThrow(() => JSON.parse(text), `finish id ${m.id} is a JSON array`);
    } else {
      assert.equal(r.responseType, 'undefined');
    }
  }
  assert.ok(nonEmpty >= 20, `${nonEmpty} non-empty finishes checked`);
});

test('a 20 MB event round-trips', async () => {
  // Built from real corpus events (the docs pages with their big FullSnapshots, then the CSS-heavy page).
  const parts = [];
  let len = 0;
  outer: for (const name of ['d1-pydocs-browse', 'd3-css-shadow-iframe', 'd2-spa-dashboard-masked']) {
    for (const line of corpusLines(name)) {
      parts.push(line);
      len += line.length + 1;
      if (len > 20_100_000) break outer;
    }
  }
  const big = JSON.stringify({ type: 5, timestamp: 1700000000000, data: { tag: 'big ☃ 中', payload: parts.map((p) => JSON.parse(p)) } });
  assert.ok(Buffer.byteLength(big) > 20_000_000, `event is ${Buffer.byteLength(big)} bytes`);
  srv.body('/big-event.json', big);
  const loaded = await page.evaluate(() => window.rf.load('big', '/big-event.json'));
  assert.equal(loaded, big.length, 'page fetched the whole event');
  const small = ev(99);
  const msgs = [
    { id: 0, method: 'addEvent', arg: small },
    { id: 1, method: 'addEvent', argFrom: 'big' },
    { id: 2, method: 'addEvent', arg: small },
    { id: 3, method: 'finish' },
  ];
  const got = await run(msgs, 5, 60000);
  assertInit(got[0]);
  assert.deepEqual(got.slice(1).map((r) => [r.id, r.success]), [[0, true], [1, true], [2, true], [3, true]], JSON.stringify(got.map((r) => r.response)));
  const text = finishText(got[4], '20 MB finish');
  assert.equal(text.length, big.length + 2 * small.length + 4, 'inflated length');
  assert.ok(text === `[${small},${big},${small}]`, 'inflated text equals the three events');
  assert.ok(Buffer.from(got[4].base64, 'base64').length < Buffer.byteLength(big) / 4, 'the result is compressed');
});

test('malformed messages: success:false with a reason when they carry an id, no reply otherwise; the worker keeps working', async () => {
  const good1 = ev(201);
  const good2 = ev(202);
  // [message, expected: null = no reply, or a RegExp the reason must match]
  const cases = [
    [{ id: 0, method: 'addEvent', arg: good1 }, 'ok'],
    [{ method: 'addEvent', arg: ev(900) }, null], // no id
    [{ method: 'finish' }, null], // no id
    [{ id: '1', method: 'finish' }, /id must be a number/],
    [{ id: null, method: 'finish' }, /id must be a number/],
    [{ id: 1, method: 'frobnicate', arg: 'x' }, /unknown method "frobnicate"/],
    [{ id: 2 }, /no method/],
    [{ id: 3, method: 7 }, /method must be a string/],
    [{ id: 4, method: 'addEvent' }, /invalid event/i],
    [{ id: 5, method: 'addEvent', arg: 42 }, /invalid event.*number/i],
    [{ id: 6, method: 'addEvent', arg: '' }, /invalid event.*non-empty/i],
    [{ id: 7, method: 'addEvent', arg: { type: 3 } }, /invalid event/i],
    [{ id: 8, method: 'addEvent', arg: '[object Object]' }, /invalid event|JSON/i],
    [{ id: 9, method: 'compress' }, /compress/],
    ['a string', null],
    [null, null],
    [42, null],
    [undefined, null],
    [[1, 2, 3], null],
    [{ id: 10, method: 'addEvent', arg: good2 }, 'ok'],
    [{ id: 11, method: 'finish' }, 'ok'],
  ];
  const expectReplies = cases.filter(([, want]) => want !== null).length;
  const got = await run(cases.map(([m]) => m), 1 + expectReplies);
  assertInit(got[0]);
  const replies = got.slice(1);
  const want = cases.filter(([, w]) => w !== null);
  assert.equal(replies.length, want.length,
    `expected ${want.length} replies (messages without an id get none), got ${replies.length}: ${JSON.stringify(replies.map((r) => [r.id, r.method, r.response]))}`);
  for (let i = 0; i < want.length; i++) {
    const [m, w] = want[i];
    const r = replies[i];
    assert.deepEqual([r.id, r.method], [m.id, m.method], `reply ${i} answers ${JSON.stringify(m)}`);
    if (w === 'ok') {
      assert.equal(r.success, true, `${JSON.stringify(m)} failed: ${r.response}`);
    } else {
      assert.equal(r.success, false, `${JSON.stringify(m)} must fail`);
      assert.equal(typeof r.response, 'string', 'the reason is a string');
      assert.match(r.response, w, `reason for ${JSON.stringify(m)}`);
    }
  }
  assert.equal(finishText(replies[replies.length - 1], 'finish after malformed messages'), `[${good1},${good2}]`,
    'rejected messages add nothing and the stream survives them');
  // The worker reports ignored (id-less) messages on its console, never as an exception.
  assert.deepEqual(seen.errors, [], 'no page errors');
});
