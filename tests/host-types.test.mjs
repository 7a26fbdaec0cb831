// The host script's shipped TypeScript types compile against real usage (and reject wrong usage, through
// @ts-expect-error lines that fail the build if the types stop catching them), and the host code itself is
// type-checked against the protocol's types, strictly enough that reading a field a message does not declare fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/bundle.mjs';

/** Runs tsc on `files` with `compilerOptions` added to strict defaults; returns its output (empty when clean). */
function tsc(files, compilerOptions) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-types-'));
  try {
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, target: 'es2020', module: 'esnext', moduleResolution: 'bundler',
        lib: ['es2020', 'dom'], types: [], ...compilerOptions,
      },
      files,
    }));
    try {
      return execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    } catch (e) {
      return `${e.stdout}${e.stderr}` || 'tsc failed';
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('host-js types compile against real usage', () => {
  const dts = path.join(ROOT, 'host-js/dist/ringflate-host.d.ts');
  assert.ok(fs.existsSync(dts), 'host-js/dist is missing: run node host-js/build.mjs first');
  const out = tsc([path.join(ROOT, 'tests/types/usage.ts')], { paths: { ringflate: [dts] } });
  assert.equal(out.trim(), '', `tsc reported errors:\n${out}`);
});

test('the host code type-checks against the protocol types (checkJs, strict)', () => {
  const src = ['core.js', 'index.js'].map((f) => path.join(ROOT, 'host-js/src', f));
  const options = { allowJs: true, checkJs: true, noUnusedLocals: true, noImplicitReturns: true };
  const out = tsc(src, options);
  assert.equal(out.trim(), '', `tsc reported errors:\n${out}`);

  // The check has teeth: the same code reading a field the worker's message does not declare is refused.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringflate-checkjs-'));
  try {
    for (const f of fs.readdirSync(path.join(ROOT, 'host-js/src'))) {
      if (/\.(js|d\.ts)$/.test(f)) fs.copyFileSync(path.join(ROOT, 'host-js/src', f), path.join(dir, f));
    }
    const core = path.join(dir, 'core.js');
    const text = fs.readFileSync(core, 'utf8');
    const reading = 'draws.push(...data.draws);';
    assert.ok(text.includes(reading), 'core.js reads draws');
    fs.writeFileSync(core, text.replace(reading, 'draws.push(...data.draws, data.undeclared);'));
    const bad = tsc([core, path.join(dir, 'index.js')], options);
    assert.match(bad, /Property 'undeclared' does not exist on type 'DrawsMessage'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
