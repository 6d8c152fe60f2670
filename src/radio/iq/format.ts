/**
 * 8-bit IQ formats as SDRs produce them, and conversions to and from cf32 (interleaved float32).
 *   ci8: signed bytes (HackRF), value = round(x * scale), clipped to -128..127.
 *   cu8: unsigned bytes offset by CU8_CENTER = 128 (RTL-SDR), value = round(x * scale + 128), clipped to
 *        0..255; back to float: (u - 128) / scale. With the default scale CU8_SCALE = 128 this is the SigMF
 *        convention (sigmf-python's autoscale, numpy users): the SigMF reader and writer
 *        (src/radio/sigmf/datatype.ts) use `cu8ToFloat` / `floatToCu8` below, so a cu8 byte means the
 *        same float live (RTL-SDR, rtl_tcp) and replayed from a recording.
 * `scale` maps float amplitude to code units; for ci8, 127.5 (DEFAULT_8BIT_SCALE) maps +-1.0 to full scale.
 */
export type IqFormat = 'cf32' | 'ci8' | 'cu8';

export const DEFAULT_8BIT_SCALE = 127.5;

export function cf32ToCi8(iq: Float32Array, scale = DEFAULT_8BIT_SCALE, out = new Int8Array(iq.length)): Int8Array {
  for (let i = 0; i < iq.length; i++) {
    let v = Math.round(iq[i]! * scale);
    if (!(v >= -128)) v = -128; // also NaN
    if (v > 127) v = 127;
    out[i] = v;
  }
  return out;
}

export function ci8ToCf32(data: Int8Array, scale = DEFAULT_8BIT_SCALE, out = new Float32Array(data.length)): Float32Array {
  const inv = 1 / scale;
  for (let i = 0; i < data.length; i++) out[i] = data[i]! * inv;
  return out;
}

/** The cu8 code of float 0 (the offset of the unsigned codes): 2^7, as SigMF's unsigned formats. */
export const CU8_CENTER = 128;
/** The default cu8 scale: u -> (u - 128) / 128, the SigMF convention for cu8. */
export const CU8_SCALE = 128;

/** One cu8 code as a float: (u - CU8_CENTER) * inv, where inv = 1 / scale. The one cu8 decoding of the engine. */
export function cu8ToFloat(u: number, inv = 1 / CU8_SCALE): number {
  return (u - CU8_CENTER) * inv;
}

/** One float as a cu8 code: round(x * scale + CU8_CENTER), clipped to 0..255 (NaN gives 0). The one cu8 encoding. */
export function floatToCu8(x: number, scale = CU8_SCALE): number {
  const v = Math.round(x * scale + CU8_CENTER);
  if (!(v >= 0)) return 0; // also NaN
  return v > 255 ? 255 : v;
}

export function cf32ToCu8(iq: Float32Array, scale = CU8_SCALE, out = new Uint8Array(iq.length)): Uint8Array {
  for (let i = 0; i < iq.length; i++) out[i] = floatToCu8(iq[i]!, scale);
  return out;
}

export function cu8ToCf32(data: Uint8Array, scale = CU8_SCALE, out = new Float32Array(data.length)): Float32Array {
  const inv = 1 / scale;
  for (let i = 0; i < data.length; i++) out[i] = cu8ToFloat(data[i]!, inv);
  return out;
}

export function ci8ToCu8(data: Int8Array, out = new Uint8Array(data.length)): Uint8Array {
  // ci8 code v and cu8 code u represent the same value when u - CU8_CENTER = v
  for (let i = 0; i < data.length; i++) out[i] = data[i]! + CU8_CENTER;
  return out;
}

export function cu8ToCi8(data: Uint8Array, out = new Int8Array(data.length)): Int8Array {
  for (let i = 0; i < data.length; i++) out[i] = data[i]! - CU8_CENTER;
  return out;
}

/**
 * Simulate an 8-bit ADC in place (a model of the ADC's mid-rise quantizer, not a byte format: its cu8 grid is
 * centred at 127.5, so codes stay symmetric about 0): scale so the RMS sits `backoffDb` below full scale (an AGC), quantize to
 * `format`, and convert back to float at the original scale. Returns the number of clipped values.
 */
export function quantize8(iq: Float32Array, format: 'ci8' | 'cu8', backoffDb = 12): number {
  let p = 0;
  for (let i = 0; i < iq.length; i++) p += iq[i]! * iq[i]!;
  const rmsPerComponent = Math.sqrt(p / Math.max(1, iq.length));
  if (rmsPerComponent === 0) return 0;
  const scale = 127.5 / (rmsPerComponent * Math.pow(10, backoffDb / 20));
  let clipped = 0;
  for (let i = 0; i < iq.length; i++) {
    const x = iq[i]! * scale;
    let v: number;
    if (format === 'ci8') {
      v = Math.round(x);
      if (v < -128 || v > 127) clipped++;
      v = Math.max(-128, Math.min(127, v));
    } else {
      v = Math.round(x + 127.5);
      if (v < 0 || v > 255) clipped++;
      v = Math.max(0, Math.min(255, v)) - 127.5;
    }
    iq[i] = v / scale;
  }
  return clipped;
}
