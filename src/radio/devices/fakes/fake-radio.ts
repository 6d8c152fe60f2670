/**
 * FAKE radio driver, all in this one file: what a new radio's module looks like (docs/radios.md, "A new
 * radio in one file"). Importing it registers `fakesdr[:SERIAL]` with a USB id; the device it makes is a
 * loopback under the fake's id, so tests can open it without hardware.
 */
import { LOOPBACK_CAPABILITIES, LoopbackDevice } from '../loopback.js';
import { registerRadio } from '../registry.js';

export const FAKE_RADIO_USB = { vendorId: 0xf00d, productId: 0x0001, model: 'Fake SDR' } as const;

registerRadio({
  name: 'fakesdr',
  usage: 'fakesdr[:SERIAL]',
  usb: [FAKE_RADIO_USB],
  usbIdBy: 'serial',
  capabilities: LOOPBACK_CAPABILITIES,
  factory: (spec) => new LoopbackDevice({ id: spec.id }),
});
