import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { createDevice, openDevice, parseDeviceId, registerDriver, unregisterDriver } from './registry.js';
import { discoverDevices, watchUsbRadios, type UsbDeviceLike, type UsbLike } from './discovery.js';
import { LoopbackDevice } from './loopback.js';
import { RtlTcpClient } from './rtl-tcp-client.js';
import { SigmfReplayDevice } from './sigmf-replay.js';
import { DeviceConfigError, type SdrDevice } from './types.js';
import { SigmfWriter } from '../sigmf/writer.js';

/** A fake of the `usb` package's WebUSB object: a device list and connect/disconnect events. */
class FakeUsb implements UsbLike {
  private readonly events = new EventEmitter();
  constructor(public devices: UsbDeviceLike[] | Error) {}
  async getDevices(): Promise<UsbDeviceLike[]> {
    if (this.devices instanceof Error) throw this.devices;
    return this.devices;
  }
  addEventListener(type: 'connect' | 'disconnect', l: (ev: { device: UsbDeviceLike }) => void): void {
    this.events.on(type, l);
  }
  removeEventListener(type: 'connect' | 'disconnect', l: (ev: { device: UsbDeviceLike }) => void): void {
    this.events.off(type, l);
  }
  plug(type: 'connect' | 'disconnect', device: UsbDeviceLike): void {
    this.events.emit(type, { device });
  }
}

test('registry: ids open the built-in radios; unregistered and unknown drivers give clear errors; drivers plug in', async () => {
  assert.deepEqual(parseDeviceId('rtl_tcp:127.0.0.1:1234'), { id: 'rtl_tcp:127.0.0.1:1234', driver: 'rtl_tcp', arg: '127.0.0.1:1234' });
  assert.deepEqual(parseDeviceId('hackrf'), { id: 'hackrf', driver: 'hackrf', arg: undefined });
  assert.ok((await createDevice('loopback')) instanceof LoopbackDevice);
  const c = await createDevice('rtl_tcp:10.0.0.5:7373');
  assert.ok(c instanceof RtlTcpClient);
  assert.equal(c.info.id, 'rtl_tcp:10.0.0.5:7373');
  assert.ok((await createDevice('sigmf:/x/y')) instanceof SigmfReplayDevice);
  await assert.rejects(createDevice('rtl_tcp'), /rtl_tcp:HOST:PORT/);
  await assert.rejects(createDevice('loopback:3'), /takes no argument/);
  // A starting configuration: the loopback and rtl_tcp are made with it (their own options win).
  const lb = await createDevice('loopback', { config: { freqHz: 915e6, sampleRateHz: 1e6 }, loopback: { config: { sampleRateHz: 2e6 } } });
  assert.deepEqual([lb.config.freqHz, lb.config.sampleRateHz], [915e6, 2e6]);
  const rt = await createDevice('rtl_tcp:10.0.0.5', { config: { freqHz: 433.92e6, sampleRateHz: 1e6 }, rtlTcp: { sampleRateHz: 2.4e6 } });
  assert.deepEqual([rt.config.freqHz, rt.config.sampleRateHz], [433.92e6, 2.4e6]);
  await assert.rejects(createDevice('rtl_tcp:10.0.0.5', { config: { gainsDb: { tuner: 10 } } }), /frequency and a sample rate only; set gainsDb with configure/);
  await assert.rejects(createDevice('pluto:192.168.2.1'), (e: unknown) => e instanceof DeviceConfigError && /'pluto' driver is not registered/.test((e as Error).message));
  await assert.rejects(createDevice('usrp:0'), /unknown radio 'usrp:0'; use one of loopback, rtl_tcp:HOST:PORT/);
  let asked: string | undefined;
  registerDriver('hackrf', (spec) => {
    asked = spec.arg;
    return new LoopbackDevice({ id: spec.id });
  });
  try {
    const d: SdrDevice = await openDevice('hackrf:0000000000001234');
    assert.equal(asked, '0000000000001234');
    assert.equal(d.isOpen, true);
    await d.close();
  } finally {
    unregisterDriver('hackrf');
  }
});

test('discovery: loopback always, USB radios by VID:PID, configured network radios, "no USB bus" reported, hotplug events', async () => {
  const usb = new FakeUsb([
    { vendorId: 0x1d50, productId: 0x6089, serialNumber: '0000000000001234', productName: 'HackRF One' },
    { vendorId: 0x046d, productId: 0xc52b }, // a mouse
    { vendorId: 0x0bda, productId: 0x2838, serialNumber: '00000001' },
    { vendorId: 0x0bda, productId: 0x2832, serialNumber: '00000001' },
    { vendorId: 0x0456, productId: 0xb673 },
  ]);
  const r = await discoverDevices({ network: [{ driver: 'rtl_tcp', host: '127.0.0.1', port: 1235 }, { driver: 'pluto', host: '192.168.2.1' }] }, usb);
  assert.deepEqual(r.devices.map((d) => d.id), ['loopback', 'hackrf:0000000000001234', 'rtlsdr:0', 'rtlsdr:1', 'pluto', 'rtl_tcp:127.0.0.1:1235', 'pluto:192.168.2.1']);
  assert.deepEqual(r.devices[1]!.usb, { vendorId: 0x1d50, productId: 0x6089 });
  assert.deepEqual(r.problems, []);

  const noBus = await discoverDevices({}, new FakeUsb(new Error('getDevices error: /sys/bus/usb/devices/ not found (errno 2)')));
  assert.deepEqual(noBus.devices.map((d) => d.id), ['loopback']);
  assert.match(noBus.problems[0]!, /^no USB bus/);

  const seen: string[] = [];
  const w = await watchUsbRadios((kind, info) => seen.push(`${kind} ${info.id}`), usb);
  assert.ok(w.stop);
  usb.plug('connect', { vendorId: 0x1d50, productId: 0x6089, serialNumber: 'abc' });
  usb.plug('connect', { vendorId: 0x046d, productId: 0xc52b });
  usb.plug('disconnect', { vendorId: 0x1d50, productId: 0x6089, serialNumber: 'abc' });
  w.stop!();
  usb.plug('connect', { vendorId: 0x1d50, productId: 0x6089, serialNumber: 'def' });
  assert.deepEqual(seen, ['connect hackrf:abc', 'disconnect hackrf:abc']);
  const none = await watchUsbRadios(() => undefined, new FakeUsb(new Error('no bus')));
  assert.equal(none.stop, undefined);
});

test('sigmf replay device: a recording plays back as an RX-only radio with its own rate and frequency', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dekag-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const base = join(dir, 'r');
  const w = await SigmfWriter.open(base, { datatype: 'cf32_le', sampleRateHz: 250e3, freqHz: 433.92e6, durable: false });
  const iq = new Float32Array(2 * 3000);
  for (let i = 0; i < iq.length; i++) iq[i] = Math.sin(i * 0.01);
  await w.append(iq);
  await w.finalize();
  const dev = await openDevice(`sigmf:${base}`, { sigmf: { pace: 'full-speed' } });
  assert.deepEqual(dev.config, { freqHz: 433.92e6, sampleRateHz: 250e3, gainsDb: {} });
  assert.equal(dev.capabilities.tx, false);
  assert.deepEqual([dev.capabilities.rxChannels, dev.capabilities.txChannels, dev.capabilities.rxWaitsForConsumer], [1, 0, true]);
  assert.equal(dev.channelSimulator, undefined);
  await assert.rejects(dev.configure({ freqHz: 915e6 }), /cannot be retuned/);
  await assert.rejects(dev.configure({ txFreqHz: 915e6 }), /one frequency for RX and TX/);
  assert.equal((await dev.configure({ txSampleRateHz: 250e3 })).txSampleRateHz, undefined);
  assert.throws(() => dev.startTx(), /cannot transmit/);
  const got: number[] = [];
  const starts: number[] = [];
  for await (const b of dev.startRx({ blockSamples: 1024 })) {
    starts.push(b.sampleIndex);
    got.push(...b.iq);
  }
  assert.deepEqual(starts, [0, 1024, 2048]);
  assert.deepEqual(Float32Array.from(got), iq);
  assert.equal(dev.stats().samplesRx, 3000);
  await dev.close();
});
