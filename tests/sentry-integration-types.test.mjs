// ringflate/sentry's shipped types compile against real usage with the real SDK's types (@sentry/browser 11
// and 10, @sentry/electron/renderer 7), and reject wrong usage through @ts-expect-error lines that fail the
// check if the types stop catching them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/bundle.mjs';

const USAGE = (sdk) => `
import * as Sentry from '${sdk}';
import { ringflateReplay, type RingflateReplayOptions } from 'ringflate/sentry';

const options: RingflateReplayOptions = { workerUrl: new URL('/assets/ringflate-worker.js', location.href), bufferMs: 120_000, maskAllText: true, block: ['.secret'] };
const replay = ringflateReplay(options);
Sentry.init({ dsn: 'https://key@o0.ingest.sentry.io/1', replaysSessionSampleRate: 0.1, replaysOnErrorSampleRate: 1, integrations: [replay] });
const id: string | undefined = replay.getReplayId();
replay.flush();
replay.stop();
const name: 'RingflateReplay' = replay.name;
// @ts-expect-error workerUrl is required
ringflateReplay({ bufferMs: 1000 });
// @ts-expect-error bufferMs is a number of ms
ringflateReplay({ workerUrl: '/w.js', bufferMs: '2 min' });
export { id, name };
`;

function tsc(file) {
  const dir = path.dirname(file);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2020', module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true,
      lib: ['es2020', 'dom'], types: [], paths: { 'ringflate/sentry': [path.join(ROOT, 'host-js/src/sentry.d.ts')] },
    },
    files: [file],
  }));
  try {
    return execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
  } catch (e) {
    return `${e.stdout}${e.stderr}` || 'tsc failed';
  }
}

for (const sdk of ['@sentry/browser', 'sentry-browser-10', '@sentry/electron/renderer']) {
  test(`ringflate/sentry types with ${sdk}`, () => {
    // Inside the repository, so the SDK's types resolve from node_modules.
    const dir = fs.mkdtempSync(path.join(ROOT, 'tests', '.types-'));
    try {
      const file = path.join(dir, 'usage.ts');
      fs.writeFileSync(file, USAGE(sdk));
      const out = tsc(file);
      assert.equal(out.trim(), '', `tsc reported errors:\n${out}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
