// The host script's shipped TypeScript types compile against real usage (and reject wrong usage, through
// @ts-expect-error lines that fail the build if the types stop catching them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/bundle.mjs';

test('host-js types compile against real usage', () => {
  const dts = path.join(ROOT, 'host-js/dist/ringflate-host.d.ts');
  assert.ok(fs.existsSync(dts), 'host-js/dist is missing: run node host-js/build.mjs first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-types-'));
  try {
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2020', module: 'esnext', moduleResolution: 'bundler',
        lib: ['es2020', 'dom'], paths: { ringflate: [dts] }, types: [],
      },
      files: [path.join(ROOT, 'tests/types/usage.ts')],
    }));
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    let out = '';
    try {
      out = execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    } catch (e) {
      assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
    }
    assert.equal(out.trim(), '', 'tsc printed nothing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
