import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createDevice } from './registry.js';
import './hackrf.js';
import './rtlsdr.js';
import { HackRfDevice } from './hackrf.js';
import { RtlSdrDevice } from './rtlsdr.js';
import { FakeHackRf } from './fakes/hackrf-fake.js';
import { FakeRtlSdr } from './fakes/rtlsdr-fake.js';
import { setUsbDeviceLister, UsbUnavailableError } from './webusb.js';
import { DeviceConfigError } from './types.js';

test('hackrf[:SERIAL] and rtlsdr[:INDEX] pick the right USB device through the registry', async (t) => {
  const a = new FakeHackRf({ serialWords: [0, 0, 0x11111111, 0x2222aaaa] });
  const b = new FakeHackRf({ serialWords: [0, 0, 0x33333333, 0x4444bbbb] });
  const rtl = new FakeRtlSdr();
  setUsbDeviceLister(async () => [rtl, a, b]);
  t.after(() => setUsbDeviceLister());
  const dev = await createDevice('hackrf:4444BBBB', { driverOptions: { transferBytes: 4096 } });
  assert.ok(dev instanceof HackRfDevice);
  assert.equal(dev.usb, b);
  assert.equal((await createDevice('hackrf')) instanceof HackRfDevice, true);
  await assert.rejects(createDevice('hackrf:deadbeef'), (e: unknown) => e instanceof DeviceConfigError && /2222aaaa.*4444bbbb/.test(e.message));
  const r = await createDevice('rtlsdr:0', { driverOptions: { ppm: 3 } });
  assert.ok(r instanceof RtlSdrDevice);
  assert.equal(r.info.id, 'rtlsdr:0');
  await r.open();
  assert.equal(r.ppmCorrection, 3);
  await r.close();
  await assert.rejects(createDevice('rtlsdr:1'), (e: unknown) => e instanceof DeviceConfigError && /number 1.*found 1/.test(e.message));
  await assert.rejects(createDevice('rtlsdr:x'), DeviceConfigError);
});

test('without a USB bus (a container), opening a USB radio says so instead of crashing', { skip: existsSync('/sys/bus/usb') && 'this machine has a USB bus' }, async () => {
  await assert.rejects(createDevice('hackrf'), (e: unknown) => e instanceof UsbUnavailableError && /no USB bus/.test(e.message));
});
