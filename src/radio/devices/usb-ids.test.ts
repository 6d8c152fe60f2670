import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadDriverModules, radioDescriptors, usbModels } from './registry.js';
import { usbRadios } from './discovery.js';

const hex = (n: number) => n.toString(16).padStart(4, '0');

test('udev rules grant exactly the USB ids the drivers register, and discovery lists every radio id', async () => {
  assert.deepEqual(await loadDriverModules(), []);
  const rules = readFileSync(new URL('../../../../native/udev/53-dekag-sdr.rules', import.meta.url), 'utf8');
  const inRules = [...rules.matchAll(/ATTR\{idVendor\}=="([0-9a-f]{4})", ATTR\{idProduct\}=="([0-9a-f]{4})"/g)].map((m) => `${m[1]}:${m[2]}`).sort();
  const fromDrivers = usbModels().map((m) => `${hex(m.vendorId)}:${hex(m.productId)}`).sort();
  assert.deepEqual(inRules, fromDrivers, 'native/udev/53-dekag-sdr.rules and the drivers\' RadioDescriptor.usb disagree');
  // Every USB id a driver accepts as a radio is one discovery lists (HackRF One, Jawbreaker and rad1o alike).
  const listed = usbRadios().map((r) => `${hex(r.vendorId)}:${hex(r.productId)}`).sort();
  assert.deepEqual(listed, usbModels().filter((m) => m.listed !== false).map((m) => `${hex(m.vendorId)}:${hex(m.productId)}`).sort());
  assert.ok(listed.includes('1d50:604b') && listed.includes('1d50:cc15'));
  assert.deepEqual(radioDescriptors().map((d) => d.name), ['loopback', 'rtl_tcp', 'sigmf', 'hackrf', 'rtlsdr', 'pluto']);
});
