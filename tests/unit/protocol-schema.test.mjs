// The protocol's TypeScript types (host-js/src/protocol.d.ts, read with the TypeScript compiler API) against the
// shapes the Rust side emits and reads (target/protocol-schema.json, written by `cargo test --test
// protocol_schema`), in both directions: a field the worker emits or reads that the types lack fails, and so does
// a field the types declare that the worker never emits or reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../lib/bundle.mjs';

const DTS = path.join(ROOT, 'host-js/src/protocol.d.ts');
const SCHEMA = path.join(ROOT, 'target/protocol-schema.json');

function loadSchema() {
  if (!fs.existsSync(SCHEMA)) {
    const r = spawnSync('cargo', ['test', '--release', '--test', 'protocol_schema'], { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60 * 1000 });
    assert.equal(r.status, 0, `cargo test --test protocol_schema failed:\n${r.stdout}\n${r.stderr}`);
  }
  return JSON.parse(fs.readFileSync(SCHEMA, 'utf8'));
}

/** The schema's type name for a TypeScript type (optional fields: the type without `undefined`). */
function typeName(checker, type) {
  if (type.isUnion()) {
    const parts = type.types.filter((t) => !(t.flags & ts.TypeFlags.Undefined));
    // `boolean` is the union true | false.
    if (parts.length && parts.every((t) => t.flags & ts.TypeFlags.BooleanLiteral)) return 'boolean';
    const names = [...new Set(parts.map((t) => typeName(checker, t)))];
    // Literal unions ('session' | 'buffer') are strings; null goes last, as the schema writes it.
    return names.sort((a, b) => (a === 'null') - (b === 'null')).join('|');
  }
  const f = type.flags;
  if (f & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) return 'string';
  if (f & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return 'number';
  if (f & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return 'boolean';
  if (f & ts.TypeFlags.Null) return 'null';
  if (f & ts.TypeFlags.Undefined) return 'undefined';
  if (checker.isArrayType(type)) return typeName(checker, checker.getTypeArguments(type)[0]) + '[]';
  const symbol = type.getSymbol();
  if (symbol && symbol.getName() === 'Uint8Array') return 'bytes';
  if (f & ts.TypeFlags.Object) return 'object';
  return checker.typeToString(type);
}

/** {op: {field: type}} for every member of the union type alias `name`, keyed by its `op` literal. */
function messages(checker, file, name) {
  const alias = file.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === name);
  assert.ok(alias, `protocol.d.ts declares ${name}`);
  const union = checker.getTypeAtLocation(alias.name);
  const out = {};
  for (const member of union.isUnion() ? union.types : [union]) {
    const op = checker.getTypeOfSymbol(member.getProperty('op'));
    assert.ok(op.isStringLiteral(), `${checker.typeToString(member)}.op is a string literal`);
    assert.ok(!(op.value in out), `op ${op.value} declared once`);
    out[op.value] = fieldsOf(checker, member);
  }
  return out;
}

function fieldsOf(checker, type) {
  const fields = {};
  for (const p of checker.getPropertiesOfType(type)) fields[p.getName()] = typeName(checker, checker.getTypeOfSymbol(p));
  return fields;
}

let parsed;
function typesFromDts() {
  if (parsed) return structuredClone(parsed);
  const program = ts.createProgram([DTS], { strict: true, noEmit: true, types: [], lib: ['lib.es2020.d.ts'] });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, [], 'protocol.d.ts compiles on its own');
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(DTS);
  const config = file.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === 'EngineConfig');
  const version = file.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === 'ProtocolVersion');
  parsed = {
    version: checker.getTypeAtLocation(version.name).value,
    worker: messages(checker, file, 'EngineMessage'),
    host: { ...messages(checker, file, 'HostMessage'), config: fieldsOf(checker, checker.getTypeAtLocation(config.name)) },
  };
  return structuredClone(parsed);
}

/** Every difference between the Rust side's shapes and the types, as readable lines. */
function compare(rust, types) {
  const diffs = [];
  if (rust.version !== types.version) diffs.push(`version: the worker speaks ${rust.version}, protocol.d.ts describes ${types.version}`);
  for (const side of ['worker', 'host']) {
    const verb = side === 'worker' ? 'emits' : 'reads';
    const r = rust[side] || {};
    const t = types[side];
    for (const op of Object.keys(r)) if (!(op in t)) diffs.push(`${side}.${op}: the worker ${verb} it, protocol.d.ts lacks it`);
    for (const op of Object.keys(t)) if (!(op in r)) diffs.push(`${side}.${op}: protocol.d.ts declares it, the worker never ${verb} it`);
    for (const op of Object.keys(r)) {
      if (!(op in t)) continue;
      for (const [field, type] of Object.entries(r[op])) {
        if (!(field in t[op])) diffs.push(`${side}.${op}.${field}: the worker ${verb} it (${type}), protocol.d.ts lacks it`);
        else if (t[op][field] !== type) diffs.push(`${side}.${op}.${field}: the worker's type is ${type}, protocol.d.ts says ${t[op][field]}`);
      }
      for (const field of Object.keys(t[op])) {
        if (!(field in r[op])) diffs.push(`${side}.${op}.${field}: protocol.d.ts declares it, the worker never ${verb} it`);
      }
    }
  }
  return diffs;
}

test('protocol.d.ts declares exactly the messages and fields the worker emits and reads', () => {
  const rust = loadSchema();
  const types = typesFromDts();
  assert.deepEqual(compare(rust, types), []);
  // Not vacuous: both sides list the ops the protocol document names.
  assert.ok(['started', 'draws', 'session', 'checkout', 'pause', 'stopped', 'partial', 'segment', 'rejected', 'stats', 'pong'].every((op) => op in rust.worker));
  assert.ok(['start', 'events', 'error', 'trace', 'hidden', 'flush', 'stop', 'resume', 'sent', 'forget', 'ping', 'config'].every((op) => op in rust.host));
});

test('the comparison fails on a field either side lacks, and on a type that differs', () => {
  const types = typesFromDts();
  const rust = structuredClone(types);
  assert.deepEqual(compare(rust, types), [], 'identical shapes compare equal');

  const extra = structuredClone(types);
  extra.worker.partial.replayTimestamp = 'number';
  assert.deepEqual(compare(extra, types), ['worker.partial.replayTimestamp: the worker emits it (number), protocol.d.ts lacks it']);

  const missing = structuredClone(types);
  delete missing.worker.segment.url;
  assert.deepEqual(compare(missing, types), ['worker.segment.url: protocol.d.ts declares it, the worker never emits it']);

  const config = structuredClone(types);
  delete config.host.config.sentryClient;
  config.host.trace.spanId = 'string';
  assert.deepEqual(compare(config, types), [
    'host.trace.spanId: the worker reads it (string), protocol.d.ts lacks it',
    'host.config.sentryClient: protocol.d.ts declares it, the worker never reads it',
  ]);

  const retyped = structuredClone(types);
  retyped.host.start.session = 'string';
  delete retyped.worker.stats;
  assert.deepEqual(compare(retyped, types), [
    'worker.stats: protocol.d.ts declares it, the worker never emits it',
    'host.start.session: the worker\'s type is string, protocol.d.ts says string|null',
  ]);
});

test('TypeScript types map to the schema\'s type names', () => {
  const t = typesFromDts();
  assert.equal(t.version, 2);
  assert.deepEqual(t.worker.started, { rf: 'number', op: 'string', replayId: 'string', mode: 'string', draws: 'boolean[]', segmentId: 'number' });
  assert.equal(t.worker.rejected.of, 'string|null');
  assert.equal(t.worker.partial.chunk, 'bytes');
  assert.equal(t.host.start.config, 'object');
  assert.equal(t.host.start.session, 'string|null', 'optional: the type without undefined');
  assert.equal(t.host.config.sdk, 'object');
  assert.equal(t.host.hidden.hidden, 'boolean');
});
