/**
 * The frame header: 13 bytes of fields + CRC-16, sent BPSK rate 1/2 right after the training symbols.
 *
 * byte 0     version (2 bits, =1) | frameType (4 bits) | payloadKind (2 bits: 0 bytes, 1 symbols)
 * byte 1     modulation (4 bits) | codeRate (4 bits)
 * bytes 2-3  sessionId (u16 BE)
 * bytes 4-5  sequence (u16 BE)
 * bytes 6-8  payloadLength (u24 BE): bytes for kind 0, complex symbols for kind 1
 * bytes 9-12 payloadCrc32 (u32 BE): CRC-32 of the bytes, or of the symbols' constellation indices
 * bytes 13-14 CRC-16/CCITT of bytes 0..12
 */
import { crc16 } from './crc.js';
import { Modulation } from './constellation.js';
import { CodeRate } from './convcode.js';
import { HEADER_BYTES } from './params.js';

export const HEADER_VERSION = 1;

export enum PayloadKind {
  Bytes = 0,
  Symbols = 1,
}

export interface FrameHeader {
  frameType: number;
  payloadKind: PayloadKind;
  modulation: Modulation;
  codeRate: CodeRate;
  sessionId: number;
  sequence: number;
  payloadLength: number;
  payloadCrc32: number;
}

export function packHeader(h: FrameHeader): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES);
  b[0] = (HEADER_VERSION << 6) | ((h.frameType & 0xf) << 2) | (h.payloadKind & 3);
  b[1] = ((h.modulation & 0xf) << 4) | (h.codeRate & 0xf);
  b[2] = (h.sessionId >> 8) & 0xff;
  b[3] = h.sessionId & 0xff;
  b[4] = (h.sequence >> 8) & 0xff;
  b[5] = h.sequence & 0xff;
  b[6] = (h.payloadLength >> 16) & 0xff;
  b[7] = (h.payloadLength >> 8) & 0xff;
  b[8] = h.payloadLength & 0xff;
  const c = h.payloadCrc32 >>> 0;
  b[9] = c >>> 24;
  b[10] = (c >>> 16) & 0xff;
  b[11] = (c >>> 8) & 0xff;
  b[12] = c & 0xff;
  const hc = crc16(b, 0, 13);
  b[13] = hc >> 8;
  b[14] = hc & 0xff;
  return b;
}

/** Parse and check a header. Returns null on CRC failure or any field out of range (never throws). */
export function unpackHeader(b: Uint8Array): FrameHeader | null {
  if (b.length < HEADER_BYTES) return null;
  if (crc16(b, 0, 13) !== ((b[13]! << 8) | b[14]!)) return null;
  if (b[0]! >> 6 !== HEADER_VERSION) return null;
  const payloadKind = b[0]! & 3;
  const modulation = b[1]! >> 4;
  const codeRate = b[1]! & 0xf;
  if (payloadKind > PayloadKind.Symbols) return null;
  if (modulation > Modulation.QAM256) return null;
  if (codeRate > CodeRate.R5_6) return null;
  return {
    frameType: (b[0]! >> 2) & 0xf,
    payloadKind,
    modulation,
    codeRate,
    sessionId: (b[2]! << 8) | b[3]!,
    sequence: (b[4]! << 8) | b[5]!,
    payloadLength: (b[6]! << 16) | (b[7]! << 8) | b[8]!,
    payloadCrc32: ((b[9]! << 24) | (b[10]! << 16) | (b[11]! << 8) | b[12]!) >>> 0,
  };
}
