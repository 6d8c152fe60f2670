/**
 * FAKE RTL-SDR (RTL2832U demodulator + R820T tuner) at the USB boundary, enough for @jtarrio/webrtlsdr
 * to open, tune, set the rate and stream `cu8`.
 *
 * Register protocol (osmocom librtlsdr rtlsdr.c; every access is vendor request 0 to the device):
 *  - USB (block 1) and SYS (block 2) registers: wValue = address, wIndex = block << 8, | 0x10 to write;
 *    data little-endian.
 *  - demodulator registers: wValue = (addr << 8) | 0x20, wIndex = page, | 0x10 to write; data big-endian;
 *    every write is followed by a dummy read of page 0x0a.
 *  - I2C (block 6): wValue = 7-bit-shifted device address (R820T: 0x34), wIndex = 0x600 | 0x10 to write;
 *    a write is [register, value...]; a read returns registers from 0 on, each byte bit-reversed on the
 *    wire (R820T quirk). The tuner only answers while the demodulator's I2C repeater is open (page 1,
 *    register 0x01, bit 3).
 * Anything else stalls. Decoded state (sample rate from the resampler ratio, tuner LO from the PLL
 * registers, gain mode) is exposed so tests can check what the driver asked the hardware to do.
 *
 * Bulk IN 1 (0x81) streams a tone as cu8 ((round(127.5 + A cos), round(127.5 + A sin))) once the
 * endpoint FIFO reset bit (USB_EPA_CTL 0x2148) is cleared, and stalls before that.
 */
import type { UsbControlSetup } from '../webusb.js';
import { FakeStall, FakeUsbDevice, sleepMs } from './webusb-fake.js';

export const RTL_XTAL_HZ = 28_800_000;
export const R820T_I2C_ADDR = 0x34;
export const R820T_IF_HZ = 3_570_000;
const TONE_PERIOD = 1024;

const USB_REGS = new Set([0x2000, 0x2002, 0x2010, 0x2144, 0x2148, 0x2158, 0x215a, 0x2160]);
const SYS_REGS = new Set([0x3000, 0x3001, 0x3002, 0x3003, 0x3004, 0x3005, 0x3006, 0x3007, 0x3008, 0x3009, 0x300a, 0x300b, 0x300c]);
const USB_EPA_CTL = 0x2148;

function bitrev8(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/** The cu8 bytes of the fake's tone for samples [start, start + count). */
export function fakeRtlToneCu8(start: number, count: number, toneBin = 32, amplitude = 100): Uint8Array {
  const out = new Uint8Array(count * 2);
  for (let k = 0; k < count; k++) {
    const ph = (2 * Math.PI * toneBin * ((start + k) % TONE_PERIOD)) / TONE_PERIOD;
    out[2 * k] = Math.round(127.5 + amplitude * Math.cos(ph));
    out[2 * k + 1] = Math.round(127.5 + amplitude * Math.sin(ph));
  }
  return out;
}

export interface FakeRtlSdrOptions {
  serialNumber?: string;
  toneBin?: number;
  amplitude?: number;
  paced?: boolean;
}

export class FakeRtlSdr extends FakeUsbDevice {
  readonly usbRegs = new Map<number, number>();
  readonly sysRegs = new Map<number, number>();
  /** demod[page] register file, byte-addressed. */
  readonly demod: Uint8Array[] = Array.from({ length: 5 }, () => new Uint8Array(256));
  /** R820T register file as the chip holds it (not bit-reversed). */
  readonly tuner = new Uint8Array(32);
  /** Demodulator writes not followed by the dummy read before the next access (librtlsdr always reads). */
  demodWritesWithoutReadback = 0;
  rxSamples = 0;
  private pendingReadback = false;
  private readPointer = 0;
  private readonly toneTable: Uint8Array;
  private readonly paced: boolean;
  private pacedStartMs = 0;

  constructor(options: FakeRtlSdrOptions = {}) {
    super({
      vendorId: 0x0bda,
      productId: 0x2838,
      bcdDevice: 0x0100,
      manufacturerName: 'Realtek',
      productName: 'RTL2838UHIDIR',
      serialNumber: options.serialNumber ?? '00000001',
      inEndpoints: [1],
      outEndpoints: [],
    });
    this.paced = options.paced ?? false;
    this.toneTable = fakeRtlToneCu8(0, TONE_PERIOD, options.toneBin ?? 32, options.amplitude ?? 100);
    // Read-only status bits the driver polls: chip id 0x69 on the wire, PLL locked, VCO fine tune 2, filter cal 8.
    this.tuner[0] = bitrev8(0x69);
    this.tuner[2] = 0x40;
    this.tuner[4] = 0x28;
    this.usbRegs.set(USB_EPA_CTL, 0x0210);
  }

  get i2cRepeaterOpen(): boolean {
    return (this.demod[1]![0x01]! & 0x08) !== 0;
  }

  /** Resampler ratio (page 1 regs 0x9f..0xa2) as a rate: xtal * 2^22 / ratio. */
  get sampleRateHz(): number | undefined {
    const d = this.demod[1]!;
    const ratio = ((d[0x9f]! << 24) | (d[0xa0]! << 16) | (d[0xa1]! << 8) | d[0xa2]!) >>> 0;
    return ratio === 0 ? undefined : (RTL_XTAL_HZ * 2 ** 22) / ratio;
  }

  /** The frequency the R820T PLL is set to, minus the IF: what a real dongle would receive at DC. */
  get tunedFreqHz(): number | undefined {
    const t = this.tuner;
    const divNum = (t[0x10]! >> 5) & 0x7;
    const mixDiv = 2 ** (divNum + 1);
    const nint = (t[0x14]! & 0x3f) * 4 + (t[0x14]! >> 6) + 13;
    const sdm = (t[0x16]! << 8) | t[0x15]!;
    if (nint === 13 && sdm === 0) return undefined;
    const vco = 2 * RTL_XTAL_HZ * (nint + sdm / 65536);
    return vco / mixDiv - R820T_IF_HZ;
  }

  /** 'manual' when LNA gain is under host control (reg 0x05 bit 4), else 'auto'. */
  get gainMode(): 'manual' | 'auto' {
    return (this.tuner[0x05]! & 0x10) !== 0 ? 'manual' : 'auto';
  }

  get lnaGainIndex(): number {
    return this.tuner[0x05]! & 0x0f;
  }

  /** Sampling frequency offset (ppm correction), page 1 regs 0x3e..0x3f, 14-bit two's complement. */
  get ppmOffsetWord(): number {
    const w = ((this.demod[1]![0x3e]! & 0x3f) << 8) | this.demod[1]![0x3f]!;
    return w & 0x2000 ? w - 0x4000 : w;
  }

  private checkVendor(setup: UsbControlSetup): void {
    if (setup.requestType !== 'vendor' || setup.recipient !== 'device' || setup.request !== 0) {
      throw new FakeStall(`expected vendor request 0 to the device, got ${setup.requestType}/${setup.recipient} request ${setup.request}`);
    }
  }

  protected controlOut(setup: UsbControlSetup, data: Uint8Array): void {
    this.checkVendor(setup);
    const { value, index } = setup;
    if ((index & 0x10) === 0) throw new FakeStall(`write without the write flag 0x10 in wIndex 0x${index.toString(16)}`);
    const block = index >> 8;
    if (this.pendingReadback) this.demodWritesWithoutReadback++;
    this.pendingReadback = false;
    switch (block) {
      case 0: { // demodulator
        const page = index & 0x0f;
        if (page > 4) throw new FakeStall(`demod page ${page} does not exist (0..4)`);
        if ((value & 0xff) !== 0x20) throw new FakeStall(`demod write wValue 0x${value.toString(16)} must be (addr << 8) | 0x20`);
        if (data.length < 1 || data.length > 2) throw new FakeStall(`demod write of ${data.length} bytes (1 or 2)`);
        const addr = value >> 8;
        this.demod[page]!.set(data, addr); // big-endian: the high byte goes to addr
        this.pendingReadback = true;
        return;
      }
      case 1:
      case 2: {
        const regs = block === 1 ? USB_REGS : SYS_REGS;
        if (!regs.has(value)) throw new FakeStall(`${block === 1 ? 'USB' : 'SYS'} register 0x${value.toString(16)} is not in the register map`);
        if (data.length < 1 || data.length > (block === 1 ? 2 : 1)) throw new FakeStall(`register 0x${value.toString(16)}: ${data.length}-byte write`);
        const v = data.length === 2 ? data[0]! | (data[1]! << 8) : data[0]!;
        (block === 1 ? this.usbRegs : this.sysRegs).set(value, v);
        return;
      }
      case 6: { // I2C through the repeater
        this.checkI2c(value);
        if (data.length < 1) throw new FakeStall('I2C write without a register number');
        const reg = data[0]!;
        if (data.length === 1) {
          if (reg !== 0) throw new FakeStall(`R820T reads start at register 0, got ${reg}`);
          this.readPointer = 0;
          return;
        }
        if (reg < 5 || reg + data.length - 2 > 0x1f) throw new FakeStall(`R820T write to registers 0x${reg.toString(16)}.. outside 0x05..0x1f`);
        this.tuner.set(data.subarray(1), reg);
        return;
      }
      default:
        throw new FakeStall(`block ${block} is not writable`);
    }
  }

  protected controlIn(setup: UsbControlSetup, length: number): Uint8Array {
    this.checkVendor(setup);
    const { value, index } = setup;
    if (index & 0x10) throw new FakeStall(`read with the write flag set (wIndex 0x${index.toString(16)})`);
    const block = index >> 8;
    switch (block) {
      case 0: {
        const page = index & 0xff;
        if ((value & 0xff) !== 0x20) throw new FakeStall(`demod read wValue 0x${value.toString(16)} must be (addr << 8) | 0x20`);
        this.pendingReadback = false;
        if (page === 0x0a) return new Uint8Array(length); // the dummy read after each write
        if (page > 4) throw new FakeStall(`demod page ${page} does not exist`);
        return this.demod[page]!.slice(value >> 8, (value >> 8) + length);
      }
      case 1:
      case 2: {
        const regs = block === 1 ? this.usbRegs : this.sysRegs;
        if (!(block === 1 ? USB_REGS : SYS_REGS).has(value)) throw new FakeStall(`register 0x${value.toString(16)} is not in the register map`);
        const v = regs.get(value) ?? 0;
        const out = new Uint8Array(length);
        for (let i = 0; i < Math.min(length, 2); i++) out[i] = (v >> (8 * i)) & 0xff;
        return out;
      }
      case 6: {
        this.checkI2c(value);
        const out = new Uint8Array(length);
        for (let i = 0; i < length; i++) out[i] = bitrev8(this.tuner[(this.readPointer + i) & 0x1f]!);
        return out;
      }
      default:
        throw new FakeStall(`block ${block} is not readable`);
    }
  }

  private checkI2c(addr: number): void {
    if (!this.i2cRepeaterOpen) throw new FakeStall('I2C access with the repeater closed (demod page 1 reg 0x01 bit 3)');
    if (addr !== R820T_I2C_ADDR) throw new FakeStall(`no I2C device at 0x${addr.toString(16)} (the R820T is at 0x34)`);
  }

  protected async bulkIn(_ep: number, length: number): Promise<Uint8Array> {
    if (this.usbRegs.get(USB_EPA_CTL) !== 0) throw new FakeStall('bulk IN before the endpoint FIFO reset was released');
    const samples = length >> 1;
    const rate = this.sampleRateHz;
    if (this.paced && rate) {
      if (this.rxSamples === 0) this.pacedStartMs = performance.now();
      const wait = this.pacedStartMs + ((this.rxSamples + samples) / rate) * 1000 - performance.now();
      if (wait > 0) await sleepMs(wait);
      if (this.unplugged) throw new Error('transferIn error: Disconnected');
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const out = new Uint8Array(samples * 2);
    let pos = (this.rxSamples % TONE_PERIOD) * 2;
    let o = 0;
    while (o < out.length) {
      const n = Math.min(TONE_PERIOD * 2 - pos, out.length - o);
      out.set(this.toneTable.subarray(pos, pos + n), o);
      o += n;
      pos = 0;
    }
    this.rxSamples += samples;
    return out;
  }

  protected async bulkOut(): Promise<number> {
    throw new FakeStall('the RTL-SDR has no bulk OUT endpoint');
  }
}
