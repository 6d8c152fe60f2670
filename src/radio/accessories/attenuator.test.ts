import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Attenuator,
  GENERIC_ATTENUATOR,
  checkProtocol,
  formatTemplate,
  quantizeDb,
  sweepValues,
  type AttenuatorProtocol,
} from './attenuator.js';
import { FakeAttenuator } from './fakes/fake-attenuator.js';
import { openPtyPair } from './fakes/pty-pair.js';
import { AccessoryConfigError, AccessoryGoneError, AccessoryProtocolError, AccessoryTimeoutError } from './serial-line.js';

test('templates format dB and steps, scaled and padded; unknown placeholders are refused', () => {
  assert.equal(formatTemplate('ATT {db:.2f}\r\n', { db: 12.5, steps: 50 }), 'ATT 12.50\r\n');
  assert.equal(formatTemplate('SA{db*4:d};', { db: 12.25, steps: 49 }), 'SA49;');
  assert.equal(formatTemplate('A{steps:03d}', { db: 3, steps: 6 }), 'A006');
  assert.equal(formatTemplate('{db}', { db: 0.1 + 0.2, steps: 0 }), '0.3');
  assert.throws(() => formatTemplate('ATT {dB}', { db: 1, steps: 1 }), (e: Error) => e instanceof AccessoryConfigError && /unknown placeholder \{dB\}/.test(e.message));
  assert.throws(() => checkProtocol({ ...GENERIC_ATTENUATOR, queryReply: undefined }), /queryTemplate needs queryReply/);
  assert.throws(() => checkProtocol({ ...GENERIC_ATTENUATOR, stepDb: 0 }), /stepDb must be > 0/);
});

test('values are range-checked and rounded to the step, or rejected when asked', () => {
  const p = GENERIC_ATTENUATOR;
  assert.equal(quantizeDb(p, 12.3), 12.25);
  assert.equal(quantizeDb(p, 12.4), 12.5);
  assert.equal(quantizeDb(p, 95.25), 95.25);
  assert.throws(() => quantizeDb(p, 96), /96 dB is out of range; generic ATT protocol accepts 0\.\.95\.25 dB in 0\.25 dB steps/);
  assert.throws(() => quantizeDb(p, -1), AccessoryConfigError);
  assert.throws(() => quantizeDb(p, NaN), AccessoryConfigError);
  const strict: AttenuatorProtocol = { ...p, offStep: 'reject' };
  assert.equal(quantizeDb(strict, 12.25), 12.25);
  assert.throws(() => quantizeDb(strict, 12.3), /not on a 0\.25 dB step; the nearest steps are 12\.25 and 12\.5 dB/);
});

test('sweep values include both ends, in either direction', () => {
  assert.deepEqual(sweepValues({ fromDb: 0, toDb: 10, stepDb: 2.5 }), [0, 2.5, 5, 7.5, 10]);
  assert.deepEqual(sweepValues({ fromDb: 30, toDb: 20, stepDb: 4 }), [30, 26, 22, 20]);
  assert.throws(() => sweepValues({ fromDb: 0, toDb: 1, stepDb: 0 }), AccessoryConfigError);
});

test('over a pty pair: set, query, device refusals, and a settled sweep', async () => {
  const pty = await openPtyPair();
  const fake = await FakeAttenuator.open(pty.b, { maxDb: 31.75 });
  // The protocol claims more range than this device has: the device's own refusal must come through.
  const att = await Attenuator.open(pty.a, { ...GENERIC_ATTENUATOR, settleMs: 5, replyTimeoutMs: 1000 });
  try {
    assert.equal(await att.set(10.3), 10.25);
    assert.equal(fake.db, 10.25);
    assert.equal(await att.get(), 10.25);
    assert.deepEqual(fake.received.slice(0, 3), ['ATT 10.25', 'ATT?', 'ATT?']);
    await assert.rejects(att.set(40), (e: Error) => e instanceof AccessoryProtocolError && /refused 'ATT 40\.00\\r\\n': ERR range/.test(e.message));
    assert.equal(fake.db, 10.25, 'a refused set changes nothing');
    await assert.rejects(att.set(200), AccessoryConfigError); // never sent
    assert.ok(!fake.received.includes('ATT 200.00'));
    const seen: number[] = [];
    let last = 0;
    for await (const step of att.sweep({ fromDb: 0, toDb: 3, stepDb: 1 })) {
      assert.equal(fake.db, step.db, 'the device is at the step when it is yielded');
      assert.ok(step.settledAtMs >= last);
      last = step.settledAtMs;
      seen.push(step.db);
    }
    assert.deepEqual(seen, [0, 1, 2, 3]);
    assert.equal(att.attenuationDb, 3);
  } finally {
    await att.close();
    await fake.close();
    await pty.close();
  }
});

test('a device that never answers times out with a clear error', async () => {
  const pty = await openPtyPair();
  const fake = await FakeAttenuator.open(pty.b, { silent: true });
  const att = await Attenuator.open(pty.a, { ...GENERIC_ATTENUATOR, replyTimeoutMs: 150 });
  try {
    const t0 = Date.now();
    await assert.rejects(att.set(5), (e: Error) => {
      assert.ok(e instanceof AccessoryTimeoutError);
      assert.match(e.message, /did not answer 'ATT 5\.00\\r\\n' within 150 ms; check power, cable, baud rate \(9600\)/);
      return true;
    });
    assert.ok(Date.now() - t0 >= 140);
    assert.deepEqual(fake.received, ['ATT 5.00'], 'the command did reach the device');
  } finally {
    await att.close();
    await fake.close();
    await pty.close();
  }
});

test('unplugging mid-sweep ends the sweep with AccessoryGoneError', async () => {
  const pty = await openPtyPair();
  const fake = await FakeAttenuator.open(pty.b);
  const att = await Attenuator.open(pty.a, { ...GENERIC_ATTENUATOR, settleMs: 0, replyTimeoutMs: 2000 });
  try {
    const steps: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const s of att.sweep([1, 2, 3, 4, 5])) {
          steps.push(s.db);
          if (s.index === 1) pty.unplug();
        }
      })(),
      (e: Error) => e instanceof AccessoryGoneError && /is gone/.test(e.message),
    );
    assert.deepEqual(steps, [1, 2]);
    await assert.rejects(att.set(1), AccessoryGoneError);
  } finally {
    await att.close();
    await fake.close();
    await pty.close();
  }
});
