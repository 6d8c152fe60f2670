/** Bit helpers: byte <-> bit unpacking (MSB first), the 802.11 scrambler, and the per-symbol interleaver. */

export function bytesToBits(bytes: Uint8Array, out: Uint8Array = new Uint8Array(bytes.length * 8)): Uint8Array {
  for (let i = 0; i < bytes.length; i++) {
    const v = bytes[i]!;
    for (let b = 0; b < 8; b++) out[8 * i + b] = (v >> (7 - b)) & 1;
  }
  return out;
}

export function bitsToBytes(bits: Uint8Array, nBytes = bits.length >> 3, out = new Uint8Array(nBytes)): Uint8Array {
  for (let i = 0; i < nBytes; i++) {
    let v = 0;
    for (let b = 0; b < 8; b++) v = (v << 1) | (bits[8 * i + b]! & 1);
    out[i] = v;
  }
  return out;
}

/**
 * XOR `bits` in place with the x^7 + x^4 + 1 sequence from a nonzero 7-bit seed. Scrambling makes the
 * payload's constellation points uniform whatever the bytes are, which the SNR estimator relies on
 * (unit average symbol energy). Applying it twice restores the input.
 */
export function scramble(bits: Uint8Array, seed: number): void {
  let s = seed & 0x7f || 0x5d;
  for (let i = 0; i < bits.length; i++) {
    const fb = ((s >> 6) ^ (s >> 3)) & 1;
    s = ((s << 1) | fb) & 0x7f;
    bits[i] = bits[i]! ^ fb;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

const interleaverCache = new Map<string, Uint32Array>();

/**
 * Permutation for one OFDM symbol of `ncbps` coded bits with `bps` bits per carrier: coded bit i goes to
 * position perm[i]. Consecutive coded bits land ~ncbps/(8 bps) carriers apart, so a faded carrier hits
 * bits that are far apart in the trellis, and bits cycle through the QAM bit positions.
 */
export function interleaverPermutation(ncbps: number, bps: number): Uint32Array {
  const key = `${ncbps}/${bps}`;
  let perm = interleaverCache.get(key);
  if (perm) return perm;
  let stride = Math.max(1, Math.ceil(ncbps / 8) + 1);
  while (gcd(stride, ncbps) !== 1) stride++;
  perm = new Uint32Array(ncbps);
  for (let i = 0; i < ncbps; i++) perm[i] = (i * stride) % ncbps;
  interleaverCache.set(key, perm);
  return perm;
}

const inverseCache = new Map<string, Uint32Array>();

/** Inverse of interleaverPermutation: inv[perm[i]] = i (the interleaved position p holds coded bit inv[p]). */
export function interleaverInverse(ncbps: number, bps: number): Uint32Array {
  const key = `${ncbps}/${bps}`;
  let inv = inverseCache.get(key);
  if (inv) return inv;
  const perm = interleaverPermutation(ncbps, bps);
  inv = new Uint32Array(ncbps);
  for (let i = 0; i < ncbps; i++) inv[perm[i]!] = i;
  inverseCache.set(key, inv);
  return inv;
}
