// The engine core's draw(): the error-sampling answer taken synchronously, posted later with error(eventId, sampled)
// (a host that links an error only once it was sent), against a fake worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, VERSION } from '../../host-js/src/core.js';
import { fakeScope } from './fakes.mjs';

function started(mode, draws = []) {
  const scope = fakeScope();
  const e = createEngine({ workerUrl: '/w.js', config: { sessionSampleRate: 0, errorSampleRate: 0.5 } }, scope);
  const w = scope.worker;
  w.init({ version: VERSION });
  w.emit({ rf: 1, op: 'started', replayId: 'a'.repeat(32), mode, draws, segmentId: 0 });
  w.posted.length = 0;
  return { e, w };
}

test('draw takes the next draw without posting anything or changing the mode; error posts the answer given', () => {
  const { e, w } = started('buffer', [true, false, true]);
  assert.equal(e.draw(), true);
  assert.equal(e.draw(), false);
  assert.deepEqual(w.posted, [], 'nothing posted by draw');
  assert.equal(e.mode, 'buffer', 'a sampled draw alone leaves the buffer buffering');
  assert.equal(e.error('e2', false), false, 'the answer given is posted, no draw taken');
  assert.equal(e.mode, 'buffer');
  assert.equal(e.error('e1', true), true);
  assert.equal(e.mode, 'session', 'posting a sampled error turns the buffer into a session');
  assert.deepEqual(w.posted, [
    { rf: 1, op: 'error', eventId: 'e2', sampled: false },
    { rf: 1, op: 'error', eventId: 'e1', sampled: true },
  ]);
  assert.equal(e.error('e3'), true, 'the third draw was not used by the explicit answers: session mode answers true');
});

test('draw: the queue is shared with error(); an empty queue, off mode and a stopped engine answer false', () => {
  const { e, w } = started('buffer', [false, true]);
  assert.equal(e.error('x'), false, 'error() takes draw 0');
  assert.equal(e.draw(), true, 'draw() takes draw 1');
  assert.equal(e.draw(), false, 'empty queue');
  assert.equal(w.posted.length, 1);

  const s = started('session');
  assert.equal(s.e.draw(), true, 'session mode: every error gets the replay');
  assert.deepEqual(s.w.posted, []);

  const off = started('off');
  assert.equal(off.e.draw(), false);
  assert.equal(off.e.error('y', true), false, 'off: nothing posted, whatever the answer');
  assert.deepEqual(off.w.posted, []);

  const stopped = started('buffer', [true]);
  stopped.e.stop();
  assert.equal(stopped.e.draw(), false, 'after stop');
});
