import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../util/errors.js';
import { decodePng, encodePng, hconcat, pngInfo, rgbToTensor, tensorToRgb, vconcat } from './image.js';

test('PNG round trip keeps every pixel', () => {
  const data = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 256);
  const back = decodePng(encodePng({ width: 32, height: 32, data }));
  assert.equal(back.width, 32);
  assert.deepEqual(back.data, data);
});

test('tensor <-> RGB: [-1, 1] maps onto 0..255 and back within half a level', () => {
  const img = { width: 2, height: 2, data: Uint8Array.from([0, 10, 20, 30, 40, 50, 255, 128, 1, 2, 3, 4]) };
  const t = rgbToTensor([img]);
  assert.equal(t[0], -1);
  assert.equal(tensorToRgb(t, 0, 2, 2).data.join(), img.data.join());
  const clipped = tensorToRgb(Float32Array.from([-3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0, 2, 2);
  assert.equal(clipped.data[0], 0);
  assert.equal(clipped.data[3], 255);
});

test('a file that is not a PNG is a clear error', () => {
  assert.throws(() => decodePng(Buffer.from('hello'), 'x.png'), (e: unknown) => e instanceof UsageError && /x\.png is not a readable PNG/.test(e.message));
});

test('hconcat lays images side by side', () => {
  const a = { width: 1, height: 1, data: Uint8Array.from([1, 2, 3]) };
  const b = { width: 1, height: 1, data: Uint8Array.from([4, 5, 6]) };
  const c = hconcat([a, b], 1);
  assert.equal(c.width, 3);
  assert.deepEqual(Array.from(c.data), [1, 2, 3, 255, 255, 255, 4, 5, 6]);
});

test('vconcat stacks images, padding narrower ones with white', () => {
  const a = { width: 2, height: 1, data: Uint8Array.from([1, 1, 1, 2, 2, 2]) };
  const b = { width: 1, height: 1, data: Uint8Array.from([3, 3, 3]) };
  const c = vconcat([a, b], 1);
  assert.equal(c.width, 2);
  assert.equal(c.height, 3);
  assert.deepEqual(Array.from(c.data.subarray(12)), [3, 3, 3, 255, 255, 255]);
  assert.deepEqual(Array.from(c.data.subarray(6, 12)), [255, 255, 255, 255, 255, 255]);
});

test('a PNG is refused from its IHDR, before anything is decoded, when it declares too many pixels or a second header', () => {
  const png = encodePng({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 3) });
  assert.deepEqual(pngInfo(png), { width: 32, height: 32 });
  // the same file declaring 12000x12000 (a "PNG bomb" needs only ~20 kB of zlib for that)
  const bomb = Buffer.from(png);
  bomb.writeUInt32BE(12000, 16);
  bomb.writeUInt32BE(12000, 20);
  assert.throws(() => decodePng(bomb, 'peer.png'), (e: unknown) => e instanceof UsageError && /peer\.png declares 12000x12000 pixels; at most 16777216/.test(e.message));
  assert.throws(() => decodePng(png, 'small.png', { maxPixels: 16 * 16 }), /declares 32x32 pixels; at most 256/);
  // a second IHDR (a decoder could take its size instead of the first's) is refused too
  const ihdr = png.subarray(8, 33);
  const twice = Buffer.concat([png.subarray(0, 33), ihdr, png.subarray(33)]);
  assert.throws(() => decodePng(twice, 'twice.png'), /second IHDR/);
});
