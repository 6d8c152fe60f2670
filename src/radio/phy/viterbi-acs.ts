/**
 * One add-compare-select step of the K=7 (133, 171) Viterbi decoder, unrolled over the 32 butterflies.
 * GENERATED (the branch outputs below follow from the generators; see convcode.ts for the trellis):
 * unrolling with constant indices runs about twice as fast in V8 as the equivalent loop, and the Viterbi
 * decoder is the most expensive stage of the receive chain for byte frames.
 *
 * pm: path metrics of the 64 states (state = last 6 input bits, newest at the LSB); nx receives the new
 * metrics; b0 = l0 + l1 and b1 = l0 - l1 are the branch metrics of outputs 00 and 01 (10 and 11 are their
 * negatives). Returns nothing; writes the 64 decisions (1 = the predecessor with oldest bit 1) packed into
 * dec[2s] (states 0..31) and dec[2s+1] (states 32..63).
 */
export function acsStep(pm: Int32Array, nx: Int32Array, b0: number, b1: number, dec: Int32Array, s: number): void {
  let w0 = 0;
  let w1 = 0;
  let a: number;
  let c: number;
  let bm: number;
  // states 0, 32 -> 0, 1 (branch output 00)
  a = pm[0]!;
  c = pm[32]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[0] = c - bm;
    w0 |= 1;
  } else nx[0] = a + bm;
  if (c + bm > a - bm) {
    nx[1] = c + bm;
    w0 |= 2;
  } else nx[1] = a - bm;
  // states 1, 33 -> 2, 3 (branch output 10)
  a = pm[1]!;
  c = pm[33]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[2] = c - bm;
    w0 |= 4;
  } else nx[2] = a + bm;
  if (c + bm > a - bm) {
    nx[3] = c + bm;
    w0 |= 8;
  } else nx[3] = a - bm;
  // states 2, 34 -> 4, 5 (branch output 00)
  a = pm[2]!;
  c = pm[34]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[4] = c - bm;
    w0 |= 16;
  } else nx[4] = a + bm;
  if (c + bm > a - bm) {
    nx[5] = c + bm;
    w0 |= 32;
  } else nx[5] = a - bm;
  // states 3, 35 -> 6, 7 (branch output 10)
  a = pm[3]!;
  c = pm[35]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[6] = c - bm;
    w0 |= 64;
  } else nx[6] = a + bm;
  if (c + bm > a - bm) {
    nx[7] = c + bm;
    w0 |= 128;
  } else nx[7] = a - bm;
  // states 4, 36 -> 8, 9 (branch output 11)
  a = pm[4]!;
  c = pm[36]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[8] = c - bm;
    w0 |= 256;
  } else nx[8] = a + bm;
  if (c + bm > a - bm) {
    nx[9] = c + bm;
    w0 |= 512;
  } else nx[9] = a - bm;
  // states 5, 37 -> 10, 11 (branch output 01)
  a = pm[5]!;
  c = pm[37]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[10] = c - bm;
    w0 |= 1024;
  } else nx[10] = a + bm;
  if (c + bm > a - bm) {
    nx[11] = c + bm;
    w0 |= 2048;
  } else nx[11] = a - bm;
  // states 6, 38 -> 12, 13 (branch output 11)
  a = pm[6]!;
  c = pm[38]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[12] = c - bm;
    w0 |= 4096;
  } else nx[12] = a + bm;
  if (c + bm > a - bm) {
    nx[13] = c + bm;
    w0 |= 8192;
  } else nx[13] = a - bm;
  // states 7, 39 -> 14, 15 (branch output 01)
  a = pm[7]!;
  c = pm[39]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[14] = c - bm;
    w0 |= 16384;
  } else nx[14] = a + bm;
  if (c + bm > a - bm) {
    nx[15] = c + bm;
    w0 |= 32768;
  } else nx[15] = a - bm;
  // states 8, 40 -> 16, 17 (branch output 11)
  a = pm[8]!;
  c = pm[40]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[16] = c - bm;
    w0 |= 65536;
  } else nx[16] = a + bm;
  if (c + bm > a - bm) {
    nx[17] = c + bm;
    w0 |= 131072;
  } else nx[17] = a - bm;
  // states 9, 41 -> 18, 19 (branch output 01)
  a = pm[9]!;
  c = pm[41]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[18] = c - bm;
    w0 |= 262144;
  } else nx[18] = a + bm;
  if (c + bm > a - bm) {
    nx[19] = c + bm;
    w0 |= 524288;
  } else nx[19] = a - bm;
  // states 10, 42 -> 20, 21 (branch output 11)
  a = pm[10]!;
  c = pm[42]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[20] = c - bm;
    w0 |= 1048576;
  } else nx[20] = a + bm;
  if (c + bm > a - bm) {
    nx[21] = c + bm;
    w0 |= 2097152;
  } else nx[21] = a - bm;
  // states 11, 43 -> 22, 23 (branch output 01)
  a = pm[11]!;
  c = pm[43]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[22] = c - bm;
    w0 |= 4194304;
  } else nx[22] = a + bm;
  if (c + bm > a - bm) {
    nx[23] = c + bm;
    w0 |= 8388608;
  } else nx[23] = a - bm;
  // states 12, 44 -> 24, 25 (branch output 00)
  a = pm[12]!;
  c = pm[44]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[24] = c - bm;
    w0 |= 16777216;
  } else nx[24] = a + bm;
  if (c + bm > a - bm) {
    nx[25] = c + bm;
    w0 |= 33554432;
  } else nx[25] = a - bm;
  // states 13, 45 -> 26, 27 (branch output 10)
  a = pm[13]!;
  c = pm[45]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[26] = c - bm;
    w0 |= 67108864;
  } else nx[26] = a + bm;
  if (c + bm > a - bm) {
    nx[27] = c + bm;
    w0 |= 134217728;
  } else nx[27] = a - bm;
  // states 14, 46 -> 28, 29 (branch output 00)
  a = pm[14]!;
  c = pm[46]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[28] = c - bm;
    w0 |= 268435456;
  } else nx[28] = a + bm;
  if (c + bm > a - bm) {
    nx[29] = c + bm;
    w0 |= 536870912;
  } else nx[29] = a - bm;
  // states 15, 47 -> 30, 31 (branch output 10)
  a = pm[15]!;
  c = pm[47]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[30] = c - bm;
    w0 |= 1073741824;
  } else nx[30] = a + bm;
  if (c + bm > a - bm) {
    nx[31] = c + bm;
    w0 |= -2147483648;
  } else nx[31] = a - bm;
  // states 16, 48 -> 32, 33 (branch output 01)
  a = pm[16]!;
  c = pm[48]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[32] = c - bm;
    w1 |= 1;
  } else nx[32] = a + bm;
  if (c + bm > a - bm) {
    nx[33] = c + bm;
    w1 |= 2;
  } else nx[33] = a - bm;
  // states 17, 49 -> 34, 35 (branch output 11)
  a = pm[17]!;
  c = pm[49]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[34] = c - bm;
    w1 |= 4;
  } else nx[34] = a + bm;
  if (c + bm > a - bm) {
    nx[35] = c + bm;
    w1 |= 8;
  } else nx[35] = a - bm;
  // states 18, 50 -> 36, 37 (branch output 01)
  a = pm[18]!;
  c = pm[50]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[36] = c - bm;
    w1 |= 16;
  } else nx[36] = a + bm;
  if (c + bm > a - bm) {
    nx[37] = c + bm;
    w1 |= 32;
  } else nx[37] = a - bm;
  // states 19, 51 -> 38, 39 (branch output 11)
  a = pm[19]!;
  c = pm[51]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[38] = c - bm;
    w1 |= 64;
  } else nx[38] = a + bm;
  if (c + bm > a - bm) {
    nx[39] = c + bm;
    w1 |= 128;
  } else nx[39] = a - bm;
  // states 20, 52 -> 40, 41 (branch output 10)
  a = pm[20]!;
  c = pm[52]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[40] = c - bm;
    w1 |= 256;
  } else nx[40] = a + bm;
  if (c + bm > a - bm) {
    nx[41] = c + bm;
    w1 |= 512;
  } else nx[41] = a - bm;
  // states 21, 53 -> 42, 43 (branch output 00)
  a = pm[21]!;
  c = pm[53]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[42] = c - bm;
    w1 |= 1024;
  } else nx[42] = a + bm;
  if (c + bm > a - bm) {
    nx[43] = c + bm;
    w1 |= 2048;
  } else nx[43] = a - bm;
  // states 22, 54 -> 44, 45 (branch output 10)
  a = pm[22]!;
  c = pm[54]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[44] = c - bm;
    w1 |= 4096;
  } else nx[44] = a + bm;
  if (c + bm > a - bm) {
    nx[45] = c + bm;
    w1 |= 8192;
  } else nx[45] = a - bm;
  // states 23, 55 -> 46, 47 (branch output 00)
  a = pm[23]!;
  c = pm[55]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[46] = c - bm;
    w1 |= 16384;
  } else nx[46] = a + bm;
  if (c + bm > a - bm) {
    nx[47] = c + bm;
    w1 |= 32768;
  } else nx[47] = a - bm;
  // states 24, 56 -> 48, 49 (branch output 10)
  a = pm[24]!;
  c = pm[56]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[48] = c - bm;
    w1 |= 65536;
  } else nx[48] = a + bm;
  if (c + bm > a - bm) {
    nx[49] = c + bm;
    w1 |= 131072;
  } else nx[49] = a - bm;
  // states 25, 57 -> 50, 51 (branch output 00)
  a = pm[25]!;
  c = pm[57]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[50] = c - bm;
    w1 |= 262144;
  } else nx[50] = a + bm;
  if (c + bm > a - bm) {
    nx[51] = c + bm;
    w1 |= 524288;
  } else nx[51] = a - bm;
  // states 26, 58 -> 52, 53 (branch output 10)
  a = pm[26]!;
  c = pm[58]!;
  bm = -b1;
  if (c - bm > a + bm) {
    nx[52] = c - bm;
    w1 |= 1048576;
  } else nx[52] = a + bm;
  if (c + bm > a - bm) {
    nx[53] = c + bm;
    w1 |= 2097152;
  } else nx[53] = a - bm;
  // states 27, 59 -> 54, 55 (branch output 00)
  a = pm[27]!;
  c = pm[59]!;
  bm = b0;
  if (c - bm > a + bm) {
    nx[54] = c - bm;
    w1 |= 4194304;
  } else nx[54] = a + bm;
  if (c + bm > a - bm) {
    nx[55] = c + bm;
    w1 |= 8388608;
  } else nx[55] = a - bm;
  // states 28, 60 -> 56, 57 (branch output 01)
  a = pm[28]!;
  c = pm[60]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[56] = c - bm;
    w1 |= 16777216;
  } else nx[56] = a + bm;
  if (c + bm > a - bm) {
    nx[57] = c + bm;
    w1 |= 33554432;
  } else nx[57] = a - bm;
  // states 29, 61 -> 58, 59 (branch output 11)
  a = pm[29]!;
  c = pm[61]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[58] = c - bm;
    w1 |= 67108864;
  } else nx[58] = a + bm;
  if (c + bm > a - bm) {
    nx[59] = c + bm;
    w1 |= 134217728;
  } else nx[59] = a - bm;
  // states 30, 62 -> 60, 61 (branch output 01)
  a = pm[30]!;
  c = pm[62]!;
  bm = b1;
  if (c - bm > a + bm) {
    nx[60] = c - bm;
    w1 |= 268435456;
  } else nx[60] = a + bm;
  if (c + bm > a - bm) {
    nx[61] = c + bm;
    w1 |= 536870912;
  } else nx[61] = a - bm;
  // states 31, 63 -> 62, 63 (branch output 11)
  a = pm[31]!;
  c = pm[63]!;
  bm = -b0;
  if (c - bm > a + bm) {
    nx[62] = c - bm;
    w1 |= 1073741824;
  } else nx[62] = a + bm;
  if (c + bm > a - bm) {
    nx[63] = c + bm;
    w1 |= -2147483648;
  } else nx[63] = a - bm;
  dec[2 * s] = w0;
  dec[2 * s + 1] = w1;
}
