import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessoryGoneError, SerialLinePort, type OpenSerialPort } from './serial-line.js';

/**
 * A stand-in for an open SerialPort that the test drives event by event: the kernel decides whether an
 * unplugged tty reads as EIO (the port closes) or as end of file (the stream ends), so the pty tests meet
 * each path only by chance.
 */
class ScriptedPort extends EventEmitter {
  isOpen = true;
  closeCalls = 0;
  write(_data: string, _encoding: string, cb: (e?: Error | null) => void): boolean {
    queueMicrotask(() => cb(this.isOpen ? null : new Error('Port is not open')));
    return true;
  }
  drain(cb: (e?: Error | null) => void): void {
    queueMicrotask(() => cb(null));
  }
  close(cb?: (e?: Error | null) => void): void {
    this.closeCalls++;
    this.isOpen = false;
    queueMicrotask(() => {
      this.emit('close');
      cb?.(null);
    });
  }
}

const wrap = (p: ScriptedPort) => SerialLinePort.fromOpenPort('/dev/ttyFAKE0', p as unknown as OpenSerialPort);

test('end of file from the tty is an unplug: one gone event, the port is released, writes fail', async () => {
  const fake = new ScriptedPort();
  const port = wrap(fake);
  const lines: string[] = [];
  const gone: AccessoryGoneError[] = [];
  port.on('line', (l: string) => lines.push(l));
  port.on('gone', (e: AccessoryGoneError) => gone.push(e));
  fake.emit('data', Buffer.from('$GPGGA,1\r\n$GPRMC,'));
  fake.emit('end');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines, ['$GPGGA,1']);
  assert.equal(gone.length, 1, 'exactly one gone event, although the release then closes the port');
  assert.match(gone[0]!.message, /serial accessory on \/dev\/ttyFAKE0 is gone: the port reached end of file/);
  assert.equal(fake.closeCalls, 1, 'the file descriptor is released');
  assert.equal(port.isGone, true);
  await assert.rejects(port.write('ATT 10\r\n'), AccessoryGoneError);
});

test('an error on read and a close by this program are told apart from end of file', async () => {
  const failing = new ScriptedPort();
  const a = wrap(failing);
  const goneA: AccessoryGoneError[] = [];
  a.on('gone', (e: AccessoryGoneError) => goneA.push(e));
  failing.emit('close', Object.assign(new Error('EIO'), { disconnected: true }));
  assert.equal(goneA.length, 1);
  assert.match(goneA[0]!.message, /disconnected \(unplugged\?\)/);

  const closed = new ScriptedPort();
  const b = wrap(closed);
  let goneB = 0;
  b.on('gone', () => goneB++);
  await b.close();
  closed.emit('end');
  await new Promise((r) => setImmediate(r));
  assert.equal(goneB, 0, 'closing the port ourselves is not an unplug');
  assert.equal(closed.closeCalls, 1);
});

test('a device node that disappears is an unplug, even when the port itself never reports it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dekag-node-'));
  const node = join(dir, 'ttyUSB0');
  writeFileSync(node, '');
  try {
    const fake = new ScriptedPort();
    const port = SerialLinePort.fromOpenPort(node, fake as unknown as OpenSerialPort, { watchDeviceNode: true });
    const gone = new Promise<AccessoryGoneError>((resolve) => port.once('gone', resolve));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(port.isGone, false, 'present node, quiet port: still connected');
    rmSync(node);
    // the watch timer is unref'd (a real port keeps the process alive; this stand-in does not)
    const keepAlive = setTimeout(() => undefined, 5000);
    const e = await gone;
    clearTimeout(keepAlive);
    assert.match(e.message, /the device node .*ttyUSB0 disappeared \(unplugged\?\)/);
    assert.equal(fake.closeCalls, 1, 'the port is closed, which stops the binding reading a dead descriptor');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port name that is not a file (COM3 on Windows) is never taken for a vanished node', async () => {
  const fake = new ScriptedPort();
  const port = SerialLinePort.fromOpenPort('COM3', fake as unknown as OpenSerialPort, { watchDeviceNode: true });
  const keepAlive = setTimeout(() => undefined, 1000);
  await new Promise((r) => setTimeout(r, 600));
  clearTimeout(keepAlive);
  assert.equal(port.isGone, false);
  assert.equal(fake.closeCalls, 0);
  await port.close();
});
