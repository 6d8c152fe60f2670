import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_DATATYPES, decodeComponents, encodeFloats, fullScale, parseDatatype, toFileBytes } from './datatype.js';
import { SigmfFormatError } from './errors.js';
import { cf32ToCu8, cu8ToCf32 } from '../iq/format.js';

test('parseDatatype: sizes, endianness, errors that say what would be right', () => {
  const ci16 = parseDatatype('ci16_le');
  assert.deepEqual([ci16.complex, ci16.kind, ci16.bits, ci16.bytesPerSample, ci16.littleEndian], [true, 'i', 16, 4, true]);
  const rf64 = parseDatatype('rf64_be');
  assert.deepEqual([rf64.complex, rf64.bytesPerSample, rf64.littleEndian], [false, 8, false]);
  assert.equal(parseDatatype('cu8').bytesPerSample, 2);
  assert.throws(() => parseDatatype('ci16'), (e: Error) => e instanceof SigmfFormatError && /ci16_le/.test(e.message));
  assert.throws(() => parseDatatype('cf16_le'), SigmfFormatError);
  assert.throws(() => parseDatatype('ci8_le_x'), SigmfFormatError);
  assert.equal(ALL_DATATYPES.length, 2 * (2 + 6 * 2));
});

test('encode then decode every datatype: within half a code, clipped at full scale', () => {
  const x = new Float64Array([0, 0.5, -0.5, 0.999, -1, 1.5, -1.5, 0.0001, -0.3333, 0.25]);
  for (const name of ALL_DATATYPES) {
    const dt = parseDatatype(name);
    const bytes = new Uint8Array(x.length * dt.bytesPerComponent);
    encodeFloats(x, dt, new DataView(bytes.buffer));
    const back = new Float32Array(x.length);
    decodeComponents(new DataView(bytes.buffer), 0, dt.bytesPerComponent, dt, x.length, back, 0, 1);
    const s = fullScale(dt);
    for (let i = 0; i < x.length; i++) {
      // floats come back exactly as float32 (the reader's output type); integers within half a code
      const want = dt.kind === 'f' ? Math.fround(x[i]!) : Math.max(-1, Math.min((s - 1) / s, x[i]!));
      const tol = dt.kind === 'f' ? 0 : 0.5 / s + 1e-7;
      assert.ok(Math.abs(back[i]! - want) <= tol, `${name}[${i}]: ${x[i]} -> ${back[i]}, want ${want} +- ${tol}`);
    }
  }
});

test('known byte patterns: ci16_le/be, cu8 offset, NaN clipped to the lowest code', () => {
  const le = toFileBytes(new Float32Array([0.5, -0.25]), parseDatatype('ci16_le'));
  assert.deepEqual([...le], [0x00, 0x40, 0x00, 0xe0]); // 16384, -8192
  const be = toFileBytes(new Float32Array([0.5, -0.25]), parseDatatype('ci16_be'));
  assert.deepEqual([...be], [0x40, 0x00, 0xe0, 0x00]);
  const u8 = toFileBytes(new Float32Array([0, -1, 1, NaN]), parseDatatype('ru8'));
  assert.deepEqual([...u8], [128, 0, 255, 0]);
});

test('raw codes in the native array type are copied bit-exactly (byte-swapped for _be)', () => {
  const raw = new Int16Array([1, -2, 32767, -32768]);
  assert.deepEqual([...toFileBytes(raw, parseDatatype('ci16_le'))], [1, 0, 0xfe, 0xff, 0xff, 0x7f, 0x00, 0x80]);
  assert.deepEqual([...toFileBytes(raw, parseDatatype('ci16_be'))], [0, 1, 0xff, 0xfe, 0x7f, 0xff, 0x80, 0x00]);
  const i8 = new Int8Array([-128, 127, 0, 5]);
  assert.deepEqual([...new Int8Array(toFileBytes(i8, parseDatatype('ci8')).buffer)], [...i8]);
  assert.throws(() => toFileBytes(new Int16Array(2), parseDatatype('ci8')), /Int8Array/);
});

test('cu8: the SigMF reader/writer and the live path (src/radio/iq/format.ts) convert every code the same way', () => {
  const dt = parseDatatype('cu8');
  const codes = Uint8Array.from({ length: 256 }, (_, u) => u);
  const viaSigmf = new Float32Array(256);
  decodeComponents(new DataView(codes.buffer), 0, 1, dt, 256, viaSigmf, 0, 1);
  assert.deepEqual([...viaSigmf], [...cu8ToCf32(codes)]);
  assert.equal(viaSigmf[128], 0);
  assert.equal(viaSigmf[0], -1);
  const x = Float32Array.of(0, 0.5, -0.5, 0.999, -1, 1, 1.5, -1.5, 1e-4, -0.3333, 0.25, NaN, 0.5 / 128, -0.5 / 128);
  assert.deepEqual([...toFileBytes(x, dt)], [...cf32ToCu8(x)]);
});
