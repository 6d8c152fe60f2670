import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UsbDeviceLike, UsbLike } from '../radio/devices/discovery.js';
import { discoverDevices } from '../radio/devices/discovery.js';
import { FAKE_RADIO_USB } from '../radio/devices/fakes/fake-radio.js';
import { createEngine, registryDevices } from '../server/backends.js';
import { runDevicesCli } from './devices.js';

const usb: UsbLike = {
  getDevices: async (): Promise<UsbDeviceLike[]> => [{ vendorId: FAKE_RADIO_USB.vendorId, productId: FAKE_RADIO_USB.productId, serialNumber: 'F1' }],
};

test('a radio registered from one file shows in discovery, the engine API, `dekag devices` and the help', async () => {
  // Importing fakes/fake-radio.ts (above) registered `fakesdr`; nothing else names it.
  const found = await discoverDevices({}, usb);
  const fake = found.devices.find((d) => d.id === 'fakesdr:F1');
  assert.ok(fake, JSON.stringify(found.devices));
  assert.equal(fake.driver, 'fakesdr');
  assert.equal(fake.label, 'Fake SDR (serial F1)');

  const engine = createEngine({ devices: registryDevices({}, usb), sessions: null });
  const listed = await engine.listDevices();
  assert.deepEqual(listed.find((d) => d.id === 'fakesdr:F1'), { id: 'fakesdr:F1', driver: 'fakesdr', label: 'Fake SDR (serial F1)', connected: false, roles: [] });
  const connected = await engine.connectDevice({ id: 'fakesdr:F1' });
  assert.equal(connected.id, 'fakesdr:F1');
  await engine.disconnectDevice();
  await engine.dispose();

  let text = '';
  await runDevicesCli([], { usb, out: { stdout: (s) => (text += s), stderr: () => undefined } });
  assert.match(text, /fakesdr:F1\s+Fake SDR \(serial F1\)\n/);

  const { EDGE_HELP, USER_HELP } = await import('./help-roles.js');
  for (const h of [EDGE_HELP, USER_HELP]) {
    assert.match(h, /\('loopback', 'rtl_tcp:HOST:PORT', .*'fakesdr\[:SERIAL\]'.*'pluto:HOST'\)/);
  }
});
