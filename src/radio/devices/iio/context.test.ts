import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  contextToXml,
  findChannel,
  findDevice,
  formatChannelMask,
  numberedChannels,
  parseChannelMask,
  parseContextXml,
  parseDataFormat,
  sampleSize,
  type IioDeviceModel,
} from './context.js';
import { fakePlutoContext } from '../fakes/iiod-pluto.js';
import { DeviceIoError } from '../types.js';

test('scan-element formats parse and print back', () => {
  const f = parseDataFormat('le:S12/16>>0');
  assert.deepEqual(f, { bigEndian: false, signed: true, fullyDefined: true, bits: 12, storageBits: 16, repeat: 1, shift: 0 });
  assert.deepEqual(parseDataFormat('be:u10/16X2>>4'), { bigEndian: true, signed: false, fullyDefined: false, bits: 10, storageBits: 16, repeat: 2, shift: 4 });
  assert.throws(() => parseDataFormat('le:S20/16>>0'), DeviceIoError);
  assert.throws(() => parseDataFormat('S12'), /not like 'le:S12\/16>>0'/);
});

test('context XML round-trips, with escaping, and names the fake Pluto devices', () => {
  const ctx = fakePlutoContext('ad9364');
  ctx.attrs.push({ name: 'note', value: 'a<b & "c"' });
  const xml = contextToXml(ctx);
  assert.match(xml, /^<\?xml version="1.0" encoding="utf-8"\?><!DOCTYPE context \[/);
  const back = parseContextXml(xml);
  assert.deepEqual(back, ctx);
  assert.equal(findDevice(back, 'ad9361-phy')?.id, 'iio:device1');
  assert.equal(findDevice(back, 'iio:device4')?.name, 'cf-ad9361-lpc');
  const phy = findDevice(back, 'ad9361-phy')!;
  assert.equal(findChannel(phy, 'RX_LO', true)?.id, 'altvoltage0');
  assert.equal(findChannel(phy, 'voltage0', false)?.output, false);
  assert.equal(findChannel(phy, 'RX_LO', false), undefined);
});

test('malformed XML is reported with a position', () => {
  assert.throws(() => parseContextXml('<context name="x"><device id="a"></context>'), /malformed.*does not close/);
  assert.throws(() => parseContextXml('<nope/>'), /expected <context>/);
  assert.throws(() => parseContextXml('<context><device/></context>'), /lacks the required attribute 'name'/);
});

test('channel numbering follows scan index, masks are hex words, most significant first', () => {
  const dev: IioDeviceModel = {
    id: 'iio:device9',
    channels: [],
    attrs: [],
    bufferAttrs: [],
    debugAttrs: [],
  };
  const fmt = parseDataFormat('le:S16/16>>0');
  // 40 channels: scan elements listed in reverse index order, plus non-scan channels first in the XML.
  dev.channels.push({ id: 'temp', output: false, attrs: [] });
  for (let i = 37; i >= 0; i--) dev.channels.push({ id: `voltage${i}`, output: false, attrs: [], scan: { index: i, format: fmt } });
  dev.channels.push({ id: 'other', output: false, attrs: [] });
  const numbered = numberedChannels(dev);
  assert.deepEqual(numbered.slice(0, 3).map((c) => c.id), ['voltage0', 'voltage1', 'voltage2']);
  assert.deepEqual(numbered.slice(-2).map((c) => c.id), ['temp', 'other']);
  const pick = ['voltage0', 'voltage33', 'other'].map((id) => dev.channels.find((c) => c.id === id)!);
  const mask = formatChannelMask(dev, pick);
  // bit 0 (voltage0), bit 33 (voltage33), bit 39 (other) → words [0x00000001, 0x00000082]
  assert.equal(mask, '0000008200000001');
  assert.deepEqual(parseChannelMask(dev, mask)!.map((c) => c.id), ['voltage0', 'voltage33', 'other']);
  assert.equal(parseChannelMask(dev, '00000001'), undefined, 'one word is too short for 40 channels');
  assert.equal(sampleSize(dev, pick), 4, 'two 16-bit scan elements; the non-scan channel carries no samples');
});
