/**
 * SigMF dataset formats (`core:datatype`) and the conversions between their bytes and float samples.
 *
 * Scaling follows sigmf-python's autoscale (and numpy users' habit): a signed b-bit integer code v means
 * v / 2^(b-1); an unsigned code u means (u - 2^(b-1)) / 2^(b-1). Floats are stored as they are. Writing a
 * float into an integer format rounds to the nearest code and clips to the code range, so +1.0 in ci8 is
 * stored as 127 (0.9921875). cu8 is converted by `cu8ToFloat` / `floatToCu8` of src/radio/iq/format.ts, the
 * same functions the live RTL-SDR and rtl_tcp paths use, so recorded and live bytes give the same floats.
 *
 * The loops below run once per sample component: no allocation, one DataView access per value.
 */
import { cu8ToFloat, floatToCu8 } from '../iq/format.js';
import { SigmfFormatError } from './errors.js';

export type ComponentKind = 'f' | 'i' | 'u';

export interface SigmfDatatype {
  /** The name as SigMF spells it, e.g. `ci16_le`. */
  readonly name: string;
  readonly complex: boolean;
  readonly kind: ComponentKind;
  readonly bits: 8 | 16 | 32 | 64;
  readonly bytesPerComponent: number;
  /** Meaningless for 8-bit formats (reported as true). */
  readonly littleEndian: boolean;
  /** 2 for complex (I then Q), 1 for real. */
  readonly componentsPerSample: 1 | 2;
  /** Bytes of one sample of one channel. */
  readonly bytesPerSample: number;
}

const DATATYPE_RE = /^(c|r)(f32|f64|i32|i16|u32|u16|i8|u8)(_le|_be)?$/;

/** The datatypes this module reads and writes (every one the SigMF 1.2 schema allows). */
export const ALL_DATATYPES: readonly string[] = (() => {
  const out: string[] = [];
  for (const c of ['c', 'r']) {
    for (const t of ['i8', 'u8']) out.push(c + t);
    for (const t of ['i16', 'u16', 'i32', 'u32', 'f32', 'f64']) out.push(`${c}${t}_le`, `${c}${t}_be`);
  }
  return out;
})();

export interface ParseDatatypeOptions {
  /**
   * Enforce the whole grammar of the specification, including that 8-bit types take no endianness suffix
   * (`cu8`, never `cu8_le`). The writer, repair and the meta validator are strict; the reader is not, so a
   * foreign `cu8_le` recording still reads (and its validation reports the name).
   */
  strict?: boolean;
}

export function parseDatatype(name: string, opts: ParseDatatypeOptions = {}): SigmfDatatype {
  const m = DATATYPE_RE.exec(name);
  if (!m) {
    throw new SigmfFormatError(
      `unknown SigMF datatype '${name}'; expected c or r, then f32, f64, i32, i16, u32, u16, i8 or u8, ` +
        `then _le or _be for multi-byte types (e.g. 'cf32_le', 'ci16_le', 'cu8')`,
    );
  }
  const complex = m[1] === 'c';
  const kind = m[2]![0] as ComponentKind;
  const bits = Number(m[2]!.slice(1)) as 8 | 16 | 32 | 64;
  const bytesPerComponent = bits / 8;
  if (bytesPerComponent > 1 && m[3] === undefined) {
    throw new SigmfFormatError(`SigMF datatype '${name}' needs an endianness suffix: '${name}_le' or '${name}_be'`);
  }
  if (opts.strict && bytesPerComponent === 1 && m[3] !== undefined) {
    throw new SigmfFormatError(`SigMF datatype '${name}' is 8-bit and takes no endianness suffix: '${m[1]}${m[2]}'`);
  }
  const componentsPerSample = complex ? 2 : 1;
  return {
    name,
    complex,
    kind,
    bits,
    bytesPerComponent,
    littleEndian: m[3] !== '_be',
    componentsPerSample,
    bytesPerSample: bytesPerComponent * componentsPerSample,
  };
}

/** Full-scale divisor of integer codes (2^(bits-1)); 1 for floats. */
export function fullScale(dt: SigmfDatatype): number {
  return dt.kind === 'f' ? 1 : 2 ** (dt.bits - 1);
}

/**
 * Decode `count` components starting at byte `byteOffset` of `src` into `out[outOffset + k*outStride]`.
 * The stride lets callers de-interleave channels without a temporary buffer.
 */
export function decodeComponents(
  src: DataView,
  byteOffset: number,
  byteStride: number,
  dt: SigmfDatatype,
  count: number,
  out: Float32Array,
  outOffset: number,
  outStride: number,
): void {
  const le = dt.littleEndian;
  const inv = 1 / fullScale(dt);
  let p = byteOffset;
  let o = outOffset;
  switch (dt.kind + dt.bits) {
    case 'i8':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = src.getInt8(p) * inv;
      return;
    case 'u8':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = cu8ToFloat(src.getUint8(p), inv);
      return;
    case 'i16':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = src.getInt16(p, le) * inv;
      return;
    case 'u16':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = (src.getUint16(p, le) - 32768) * inv;
      return;
    case 'i32':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = src.getInt32(p, le) * inv;
      return;
    case 'u32':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = (src.getUint32(p, le) - 2147483648) * inv;
      return;
    case 'f32':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = src.getFloat32(p, le);
      return;
    case 'f64':
      for (let k = 0; k < count; k++, p += byteStride, o += outStride) out[o] = src.getFloat64(p, le);
      return;
  }
  throw new SigmfFormatError(`cannot decode datatype '${dt.name}'`);
}

function clipRound(x: number, lo: number, hi: number): number {
  const v = Math.round(x);
  if (!(v >= lo)) return lo; // also NaN
  return v > hi ? hi : v;
}

/**
 * Encode float components (already interleaved the way the file wants them) into `dst` from byte 0.
 * Integer formats round and clip (NaN becomes the lowest code); floats are stored unchanged.
 */
export function encodeFloats(src: Float32Array | Float64Array, dt: SigmfDatatype, dst: DataView): void {
  const le = dt.littleEndian;
  const s = fullScale(dt);
  const n = src.length;
  const b = dt.bytesPerComponent;
  switch (dt.kind + dt.bits) {
    case 'i8':
      for (let k = 0; k < n; k++) dst.setInt8(k, clipRound(src[k]! * s, -128, 127));
      return;
    case 'u8':
      for (let k = 0; k < n; k++) dst.setUint8(k, floatToCu8(src[k]!, s));
      return;
    case 'i16':
      for (let k = 0; k < n; k++) dst.setInt16(k * b, clipRound(src[k]! * s, -32768, 32767), le);
      return;
    case 'u16':
      for (let k = 0; k < n; k++) dst.setUint16(k * b, clipRound(src[k]! * s + 32768, 0, 65535), le);
      return;
    case 'i32':
      for (let k = 0; k < n; k++) dst.setInt32(k * b, clipRound(src[k]! * s, -2147483648, 2147483647), le);
      return;
    case 'u32':
      for (let k = 0; k < n; k++) dst.setUint32(k * b, clipRound(src[k]! * s + 2147483648, 0, 4294967295), le);
      return;
    case 'f32':
      for (let k = 0; k < n; k++) dst.setFloat32(k * b, src[k]!, le);
      return;
    case 'f64':
      for (let k = 0; k < n; k++) dst.setFloat64(k * b, src[k]!, le);
      return;
  }
  throw new SigmfFormatError(`cannot encode datatype '${dt.name}'`);
}

export type SampleArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** The typed array whose elements are this datatype's raw codes (Int8Array for ci8, Float32Array for cf32_le...). */
export function nativeArrayName(dt: SigmfDatatype): string {
  const names: Record<string, string> = {
    i8: 'Int8Array',
    u8: 'Uint8Array',
    i16: 'Int16Array',
    u16: 'Uint16Array',
    i32: 'Int32Array',
    u32: 'Uint32Array',
    f32: 'Float32Array',
    f64: 'Float64Array',
  };
  return names[dt.kind + dt.bits]!;
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The bytes of `samples` as stored in a file of datatype `dt`, in a fresh buffer (the caller may reuse its
 * array at once). Raw codes (the native array type, e.g. Int8Array for ci8 straight from a HackRF) are
 * copied bit-exactly, byte-swapped where the file's endianness differs from the host's; Float32Array or
 * Float64Array into an integer or other float format is converted with `encodeFloats`.
 */
export function toFileBytes(samples: SampleArray, dt: SigmfDatatype): Uint8Array {
  const out = new Uint8Array(samples.length * dt.bytesPerComponent);
  if (samples.constructor.name === nativeArrayName(dt)) {
    out.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    if (dt.bytesPerComponent > 1 && dt.littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(out, dt.bytesPerComponent);
    return out;
  }
  if (samples instanceof Float32Array || samples instanceof Float64Array) {
    encodeFloats(samples, dt, new DataView(out.buffer));
    return out;
  }
  throw new SigmfFormatError(
    `cannot write a ${samples.constructor.name} into a '${dt.name}' recording; ` +
      `pass raw codes as ${nativeArrayName(dt)} or floats as Float32Array`,
  );
}

function swapBytes(buf: Uint8Array, width: number): void {
  for (let i = 0; i + width <= buf.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = buf[a]!;
      buf[a] = buf[b]!;
      buf[b] = t;
    }
  }
}
