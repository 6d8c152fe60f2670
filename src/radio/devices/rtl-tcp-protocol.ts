/**
 * The rtl_tcp wire protocol (osmocom rtl-sdr, src/rtl_tcp.c), shared by our server and client.
 *
 *  server -> client, once on connect: 12 bytes "RTL0", u32 BE tuner type, u32 BE number of tuner gains;
 *  then unsigned 8-bit interleaved I/Q (`cu8`) for as long as the connection lasts.
 *  client -> server, any time: 5-byte commands {u8 command, u32 BE parameter}.
 */

export const RTL_TCP_MAGIC = 'RTL0';
export const RTL_TCP_HEADER_BYTES = 12;
export const RTL_TCP_COMMAND_BYTES = 5;
export const RTL_TCP_DEFAULT_PORT = 1234;

export const RtlTcpCommand = {
  SetFrequency: 0x01,
  SetSampleRate: 0x02,
  /** 0 = automatic tuner gain, 1 = manual. */
  SetGainMode: 0x03,
  /** Tuner gain in tenths of a dB. */
  SetGain: 0x04,
  /** Frequency correction in ppm (signed). */
  SetFreqCorrection: 0x05,
  /** IF stage gain: stage << 16 | (gain in tenths of dB as int16). */
  SetIfGain: 0x06,
  SetTestMode: 0x07,
  /** RTL2832 digital AGC on/off. */
  SetAgcMode: 0x08,
  SetDirectSampling: 0x09,
  SetOffsetTuning: 0x0a,
  SetRtlXtal: 0x0b,
  SetTunerXtal: 0x0c,
  /** Tuner gain by index into the tuner's gain table. */
  SetGainByIndex: 0x0d,
  SetBiasTee: 0x0e,
} as const;

export const RTL_TCP_COMMAND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RtlTcpCommand).map(([name, code]) => [code, name]),
);

/** Tuner types as librtlsdr numbers them (enum rtlsdr_tuner). */
export const RtlTuner = { Unknown: 0, E4000: 1, FC0012: 2, FC0013: 3, FC2580: 4, R820T: 5, R828D: 6 } as const;

/** Gain tables in tenths of a dB, as librtlsdr reports them per tuner. */
const R82XX_GAINS = [0, 9, 14, 27, 37, 77, 87, 125, 144, 157, 166, 197, 207, 229, 254, 280, 297, 328, 338, 364, 372, 386, 402, 421, 434, 439, 445, 480, 496];
export const RTL_TUNER_GAINS_TENTH_DB: Record<number, readonly number[]> = {
  [RtlTuner.E4000]: [-10, 15, 40, 65, 90, 115, 140, 165, 190, 215, 240, 290, 340, 420],
  [RtlTuner.FC0012]: [-99, -40, 71, 179, 192],
  [RtlTuner.FC0013]: [-99, -73, -65, -63, -60, -58, -54, 58, 61, 63, 65, 67, 68, 70, 71, 179, 181, 182, 184, 186, 188, 191, 197],
  [RtlTuner.FC2580]: [0],
  [RtlTuner.R820T]: R82XX_GAINS,
  [RtlTuner.R828D]: R82XX_GAINS,
};

export const RTL_TUNER_NAMES: Record<number, string> = Object.fromEntries(Object.entries(RtlTuner).map(([n, v]) => [v, n]));

export interface RtlTcpHeader {
  tunerType: number;
  gainCount: number;
}

export function encodeHeader(h: RtlTcpHeader): Buffer {
  const b = Buffer.alloc(RTL_TCP_HEADER_BYTES);
  b.write(RTL_TCP_MAGIC, 0, 'latin1');
  b.writeUInt32BE(h.tunerType >>> 0, 4);
  b.writeUInt32BE(h.gainCount >>> 0, 8);
  return b;
}

/** Parses the 12-byte dongle info; null when the magic is wrong (not an rtl_tcp server). */
export function decodeHeader(b: Uint8Array): RtlTcpHeader | null {
  if (b.length < RTL_TCP_HEADER_BYTES) return null;
  const buf = Buffer.from(b.buffer, b.byteOffset, RTL_TCP_HEADER_BYTES);
  if (buf.toString('latin1', 0, 4) !== RTL_TCP_MAGIC) return null;
  return { tunerType: buf.readUInt32BE(4), gainCount: buf.readUInt32BE(8) };
}

export function encodeCommand(cmd: number, param: number): Buffer {
  const b = Buffer.alloc(RTL_TCP_COMMAND_BYTES);
  b.writeUInt8(cmd, 0);
  // Negative values (ppm, IF gain) travel as their two's complement, as rtl_tcp's htonl of an int does.
  b.writeUInt32BE(param >>> 0, 1);
  return b;
}

/** Splits a byte stream into 5-byte commands, keeping a partial command for the next chunk. */
export class CommandParser {
  private partial = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ cmd: number; param: number }> {
    const data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    const out: Array<{ cmd: number; param: number }> = [];
    let o = 0;
    for (; o + RTL_TCP_COMMAND_BYTES <= data.length; o += RTL_TCP_COMMAND_BYTES) {
      out.push({ cmd: data.readUInt8(o), param: data.readUInt32BE(o + 1) });
    }
    this.partial = Buffer.from(data.subarray(o));
    return out;
  }
}
