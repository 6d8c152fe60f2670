/**
 * 8-bit IQ formats as SDRs produce them, and conversions to and from cf32 (interleaved float32).
 *   ci8: signed bytes (HackRF), value = round(x * scale), clipped to -128..127.
 *   cu8: unsigned bytes offset by 127.5 (RTL-SDR), value = round(x * scale + 127.5), clipped to 0..255;
 *        back to float: (u - 127.5) / scale (the RTL-SDR convention with scale 127.5).
 * `scale` maps float amplitude to code units; 127.5 maps +-1.0 to full scale.
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

export function cf32ToCu8(iq: Float32Array, scale = DEFAULT_8BIT_SCALE, out = new Uint8Array(iq.length)): Uint8Array {
  for (let i = 0; i < iq.length; i++) {
    let v = Math.round(iq[i]! * scale + 127.5);
    if (!(v >= 0)) v = 0;
    if (v > 255) v = 255;
    out[i] = v;
  }
  return out;
}

export function cu8ToCf32(data: Uint8Array, scale = DEFAULT_8BIT_SCALE, out = new Float32Array(data.length)): Float32Array {
  const inv = 1 / scale;
  for (let i = 0; i < data.length; i++) out[i] = (data[i]! - 127.5) * inv;
  return out;
}

export function ci8ToCu8(data: Int8Array, out = new Uint8Array(data.length)): Uint8Array {
  // ci8 code v and cu8 code u represent the same value when u - 127.5 = v, i.e. u = v + 127.5, rounded up
  for (let i = 0; i < data.length; i++) out[i] = Math.min(255, data[i]! + 128);
  return out;
}

export function cu8ToCi8(data: Uint8Array, out = new Int8Array(data.length)): Int8Array {
  for (let i = 0; i < data.length; i++) out[i] = data[i]! - 128;
  return out;
}

/**
 * Simulate an 8-bit ADC in place: scale so the RMS sits `backoffDb` below full scale (an AGC), quantize to
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
