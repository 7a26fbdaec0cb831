// The demo server's command line (examples/serve.mjs): --help names PORT, PORT is honoured, and a port that is
// taken or not a port gets one line that says what to do, not a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVE = path.join(ROOT, 'examples/serve.mjs');

/** Runs serve.mjs; resolves { code, stdout, stderr } when it exits, or when `until(stdout)` holds (then kills it). */
function run(args, env = {}, until = null) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVE, ...args], { cwd: ROOT, env: { ...process.env, PORT: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`serve.mjs did not finish: ${stdout} ${stderr}`)); }, 20000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (until && until(stdout)) child.kill();
    });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

/** A loopback port held open by a plain TCP server (close it when done). */
function holdPort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

const builtWorker = () => assert.ok(fs.existsSync(path.join(ROOT, 'dist/ringflate-worker.js')), 'dist/ringflate-worker.js is missing: run node worker/build.mjs first');

test('--help documents --port and PORT and exits 0', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--port N/);
  assert.match(r.stdout, /^\s+PORT\s/m, 'the PORT variable is listed');
  assert.match(r.stdout, /PORT=\d+ bash \.ci\/demo/, 'with an example');
  assert.equal(r.stderr, '');
});

test('a port already in use: one line on stderr with a hint, exit status 1, no stack trace', async () => {
  builtWorker();
  const held = await holdPort();
  const port = held.address().port;
  try {
    for (const [args, env] of [[['--port', String(port)], {}], [[], { PORT: String(port) }]]) {
      const r = await run(args, env);
      assert.equal(r.code, 1, `exit status for ${JSON.stringify({ args, env })}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0], new RegExp(`^ringflate demo: port ${port} is already in use on 127\\.0\\.0\\.1; .*PORT=${port + 1} bash \\.ci/demo`));
      assert.doesNotMatch(r.stderr, /EADDRINUSE|\n\s+at /, 'no raw error or stack');
    }
  } finally {
    held.close();
  }
});

test('PORT is honoured when --port is not given', async () => {
  builtWorker();
  const held = await holdPort();
  const port = held.address().port;
  await new Promise((r) => held.close(r)); // a port that was free a moment ago
  const r = await run([], { PORT: String(port) }, (out) => out.includes('ringflate demo: http://'));
  assert.match(r.stdout, new RegExp(`^ringflate demo: http://127\\.0\\.0\\.1:${port}/ `), r.stdout + r.stderr);
});

test('a value that is not a port, or an unknown argument: one line, exit status 1', async () => {
  for (const [args, env, said] of [
    [['--port', 'eighty'], {}, /^ringflate demo: --port is "eighty", not a port number from 1 to 65535$/],
    [[], { PORT: '70000' }, /^ringflate demo: PORT is "70000", not a port number from 1 to 65535$/],
    [['--prot', '8080'], {}, /^ringflate demo: unknown argument "--prot" \(see --help\)$/],
    [['--port'], {}, /^ringflate demo: --port needs a port number \(see --help\)$/],
  ]) {
    const r = await run(args, env);
    assert.equal(r.code, 1);
    assert.match(r.stderr.trimEnd(), said);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  }
});
