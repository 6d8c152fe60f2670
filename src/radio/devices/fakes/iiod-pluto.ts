/**
 * FAKE ADALM-Pluto: the hardware side of a Pluto's IIO context, for the fake iiod server.
 *
 * Devices, channels and attribute names follow a Pluto (firmware 0.3x) as `iio_info` lists it: adm1177,
 * ad9361-phy, xadc, cf-ad9361-dds-core-lpc (TX DMA), cf-ad9361-lpc (RX DMA), numbered iio:device0..4.
 * Attributes the driver uses are validated as the ad9361 driver does (integers for frequencies and rates,
 * ranges from the `*_available` attributes, gains rounded to the step); the rest are stored strings.
 *
 * Ranges (documented choices):
 *  - LO: the Pluto ships as an AD9363, 325 MHz .. 3.8 GHz (`chip: 'ad9363'`, default); many users switch
 *    the firmware to AD9364 mode, 70 MHz .. 6 GHz (`chip: 'ad9364'`).
 *  - sampling_frequency 520833 .. 61440000 Hz: the range with the decimating FIR enabled (without it the
 *    driver's minimum is ~2.08 MHz). RX and TX share one rate, as in the AD9361's FDD mode.
 *  - rf_bandwidth RX 200 kHz .. 56 MHz, TX 200 kHz .. 40 MHz.
 *  - hardwaregain RX -3 .. 71 dB in 1 dB steps, only in `manual` gain_control_mode (this fake answers
 *    -EINVAL otherwise); TX -89.75 .. 0 dB in 0.25 dB steps.
 *  - LO frequencies are rounded to `loStepHz` (default 1 Hz) like a synthesizer with finite resolution,
 *    so a driver must read back what was applied.
 * RX samples are a deterministic test signal (`fakePlutoRxSample`): 12-bit values sign-extended in 16-bit
 * words (`le:S12/16>>0`), as the AD9361's ADC delivers them. TX data pushed with WRITEBUF is recorded.
 */
import type { IioChannelModel, IioContextModel, IioDeviceModel, IioDataFormat } from '../iio/context.js';
import type { AttrTarget } from '../iio/iiod-client.js';
import { ERRNO, FakeErrno, type FakeIioBackend } from '../iio/fakes/iiod-server.js';

export interface FakePlutoOptions {
  chip?: 'ad9363' | 'ad9364';
  /** LO rounding step, Hz (default 1). */
  loStepHz?: number;
}

export interface FakeAttrWrite {
  device: string;
  channel?: string;
  output?: boolean;
  attr: string;
  value: string;
}

const S12: IioDataFormat = { bigEndian: false, signed: true, fullyDefined: true, bits: 12, storageBits: 16, repeat: 1, shift: 0 };
const S16: IioDataFormat = { bigEndian: false, signed: true, fullyDefined: true, bits: 16, storageBits: 16, repeat: 1, shift: 0 };

const LO_ATTRS = ['external', 'fastlock_load', 'fastlock_recall', 'fastlock_save', 'fastlock_store', 'frequency', 'frequency_available', 'powerdown'];
const PHY_RX_ATTRS = [
  'bb_dc_offset_tracking_en',
  'filter_fir_en',
  'gain_control_mode',
  'gain_control_mode_available',
  'hardwaregain',
  'hardwaregain_available',
  'quadrature_tracking_en',
  'rf_bandwidth',
  'rf_bandwidth_available',
  'rf_dc_offset_tracking_en',
  'rf_port_select',
  'rf_port_select_available',
  'rssi',
  'sampling_frequency',
  'sampling_frequency_available',
];
const PHY_TX_ATTRS = [
  'filter_fir_en',
  'hardwaregain',
  'hardwaregain_available',
  'rf_bandwidth',
  'rf_bandwidth_available',
  'rf_port_select',
  'rf_port_select_available',
  'rssi',
  'sampling_frequency',
  'sampling_frequency_available',
];

function ch(id: string, output: boolean, attrs: string[], prefix: string, extra: Partial<IioChannelModel> = {}): IioChannelModel {
  return { id, output, attrs: attrs.map((name) => ({ name, filename: `${prefix}_${name}` })), ...extra };
}

/** The fake Pluto's context (what PRINT describes). */
export function fakePlutoContext(chip: 'ad9363' | 'ad9364' = 'ad9363'): IioContextModel {
  const phy: IioDeviceModel = {
    id: 'iio:device1',
    name: 'ad9361-phy',
    channels: [
      ch('voltage0', false, PHY_RX_ATTRS, 'in_voltage0'),
      ch('voltage0', true, PHY_TX_ATTRS, 'out_voltage0'),
      ch('altvoltage0', true, LO_ATTRS, 'out_altvoltage0_RX_LO', { name: 'RX_LO' }),
      ch('altvoltage1', true, LO_ATTRS, 'out_altvoltage1_TX_LO', { name: 'TX_LO' }),
      ch('temp0', false, ['input'], 'in_temp0'),
    ],
    attrs: [
      'calib_mode',
      'calib_mode_available',
      'dcxo_tune_coarse',
      'dcxo_tune_fine',
      'ensm_mode',
      'ensm_mode_available',
      'filter_fir_config',
      'rssi_gain_step_error',
      'rx_path_rates',
      'trx_rate_governor',
      'trx_rate_governor_available',
      'tx_path_rates',
      'xo_correction',
      'xo_correction_available',
    ],
    bufferAttrs: [],
    debugAttrs: ['digital_tune', 'calibration_switch_control', 'direct_reg_access'],
  };
  const tx: IioDeviceModel = {
    id: 'iio:device3',
    name: 'cf-ad9361-dds-core-lpc',
    channels: [
      ch('voltage0', true, ['calibphase', 'calibscale', 'sampling_frequency'], 'out_voltage0', { scan: { index: 0, format: S16 } }),
      ch('voltage1', true, ['calibphase', 'calibscale', 'sampling_frequency'], 'out_voltage1', { scan: { index: 1, format: S16 } }),
      ...['TX1_I_F1', 'TX1_I_F2', 'TX1_Q_F1', 'TX1_Q_F2'].map((name, i) =>
        ch(`altvoltage${i}`, true, ['frequency', 'phase', 'raw', 'sampling_frequency', 'scale'], `out_altvoltage${i}_${name}`, { name }),
      ),
    ],
    attrs: [],
    bufferAttrs: ['data_available', 'length_align_bytes'],
    debugAttrs: ['direct_reg_access'],
  };
  const rx: IioDeviceModel = {
    id: 'iio:device4',
    name: 'cf-ad9361-lpc',
    channels: ['voltage0', 'voltage1'].map((id, i) =>
      ch(id, false, ['calibbias', 'calibphase', 'calibscale', 'samples_pps', 'sampling_frequency', 'sampling_frequency_available'], `in_${id}`, {
        scan: { index: i, format: S12 },
      }),
    ),
    attrs: ['sync_start_enable', 'sync_start_enable_available'],
    bufferAttrs: ['data_available', 'length_align_bytes'],
    debugAttrs: ['direct_reg_access'],
  };
  return {
    name: 'local',
    description: 'FAKE ADALM-Pluto served by the dekag testbed (src/radio/devices/fakes/iiod-pluto.ts)',
    versionMajor: 0,
    versionMinor: 24,
    versionGit: 'fake000',
    attrs: [
      { name: 'hw_model', value: `FAKE Analog Devices PlutoSDR (${chip === 'ad9364' ? 'Z7010-AD9364' : 'Z7010-AD9363A'})` },
      { name: 'ad9361-phy,model', value: chip === 'ad9364' ? 'ad9364' : 'ad9363a' },
      { name: 'local,kernel', value: 'fake' },
    ],
    devices: [
      {
        id: 'iio:device0',
        name: 'adm1177',
        channels: [ch('voltage0', false, ['raw', 'scale'], 'in_voltage0'), ch('current0', false, ['raw', 'scale'], 'in_current0')],
        attrs: [],
        bufferAttrs: [],
        debugAttrs: [],
      },
      phy,
      { id: 'iio:device2', name: 'xadc', channels: [ch('temp0', false, ['offset', 'raw', 'scale'], 'in_temp0')], attrs: ['sampling_frequency'], bufferAttrs: [], debugAttrs: [] },
      tx,
      rx,
    ],
  };
}

/** Sample `n` of the fake's RX test signal: [I, Q], 12-bit signed. A tone plus a slow ramp, so any
 * misplaced, swapped or bit-flipped sample shows. */
export function fakePlutoRxSample(n: number): [number, number] {
  const ph = (2 * Math.PI * (n % 100)) / 100;
  const ramp = (n % 7) - 3;
  const i = Math.max(-2048, Math.min(2047, Math.round(1900 * Math.cos(ph)) + ramp));
  const q = Math.max(-2048, Math.min(2047, Math.round(1900 * Math.sin(ph)) - ramp));
  return [i, q];
}

/** The test signal repeats every lcm(100, 7) samples: serve it from a table. */
const RX_PERIOD = 700;
const RX_TABLE = new Int16Array(2 * RX_PERIOD);
for (let n = 0; n < RX_PERIOD; n++) [RX_TABLE[2 * n], RX_TABLE[2 * n + 1]] = fakePlutoRxSample(n);

function key(dev: IioDeviceModel, t: AttrTarget, attr: string): string {
  return t.kind === 'channel' ? `${dev.name}/${t.output ? 'out' : 'in'}/${t.channel}/${attr}` : `${dev.name}/${t.kind}/${attr}`;
}

function parseIntStrict(value: string, what: string): number {
  const t = value.trim();
  if (!/^-?\d+$/.test(t)) throw new FakeErrno(ERRNO.EINVAL, `${what}: '${value}' is not an integer`);
  return Number(t);
}

function parseFloatStrict(value: string, what: string): number {
  const t = value.trim().replace(/\s*dB$/, '');
  const x = Number(t);
  if (t === '' || !Number.isFinite(x)) throw new FakeErrno(ERRNO.EINVAL, `${what}: '${value}' is not a number`);
  return x;
}

export class FakePluto implements FakeIioBackend {
  readonly context: IioContextModel;
  readonly chip: 'ad9363' | 'ad9364';
  readonly loRangeHz: [number, number];
  readonly sampleRateRangeHz: [number, number] = [520833, 61440000];
  readonly rxBandwidthRangeHz: [number, number] = [200000, 56000000];
  readonly txBandwidthRangeHz: [number, number] = [200000, 40000000];
  private readonly loStepHz: number;
  /** Every accepted attribute write, in order. */
  readonly writes: FakeAttrWrite[] = [];
  /** Raw bytes pushed to each output device (by device name). */
  readonly tx = new Map<string, Buffer[]>();
  private readonly values = new Map<string, string>();
  rxLoHz = 2400000000;
  txLoHz = 2450000000;
  rateHz = 30720000;
  rxBwHz = 18000000;
  txBwHz = 18000000;
  rxGainDb = 71;
  txGainDb = -10;
  gainMode = 'slow_attack';

  constructor(opts: FakePlutoOptions = {}) {
    this.chip = opts.chip ?? 'ad9363';
    this.loRangeHz = this.chip === 'ad9364' ? [70000000, 6000000000] : [325000000, 3800000000];
    this.loStepHz = opts.loStepHz ?? 1;
    this.context = fakePlutoContext(this.chip);
    const set = (k: string, v: string) => this.values.set(k, v);
    set('ad9361-phy/in/voltage0/gain_control_mode_available', 'manual fast_attack slow_attack hybrid');
    set('ad9361-phy/in/voltage0/rf_port_select', 'A_BALANCED');
    set('ad9361-phy/in/voltage0/rf_port_select_available', 'A_BALANCED B_BALANCED C_BALANCED A_N A_P B_N B_P C_N C_P TX_MONITOR1 TX_MONITOR2 TX_MONITOR1_2');
    set('ad9361-phy/out/voltage0/rf_port_select', 'A');
    set('ad9361-phy/out/voltage0/rf_port_select_available', 'A B');
    set('ad9361-phy/in/voltage0/rssi', '97.25 dB');
    set('ad9361-phy/out/voltage0/rssi', '0.00 dB');
    set('ad9361-phy/in/temp0/input', '34500');
    set('ad9361-phy/device/ensm_mode', 'fdd');
    set('ad9361-phy/device/ensm_mode_available', 'sleep wait alert fdd pinctrl pinctrl_fdd_indep');
    set('ad9361-phy/device/calib_mode', 'auto');
    set('ad9361-phy/device/calib_mode_available', 'auto manual manual_tx_quad tx_quad rf_dc_offs rssi_gain_step');
    set('ad9361-phy/device/trx_rate_governor', 'nominal');
    set('ad9361-phy/device/trx_rate_governor_available', 'nominal highest_osr');
    set('ad9361-phy/device/xo_correction', '40000000');
    set('ad9361-phy/device/xo_correction_available', '[39992000 1 40008000]');
    set('adm1177/in/voltage0/raw', '1220');
    set('adm1177/in/current0/raw', '310');
    set('xadc/in/temp0/raw', '2560');
    set('cf-ad9361-lpc/device/sync_start_enable_available', 'arm disarm');
    set('cf-ad9361-lpc/device/sync_start_enable', 'disarm');
    set('cf-ad9361-lpc/buffer/length_align_bytes', '8');
    set('cf-ad9361-dds-core-lpc/buffer/length_align_bytes', '8');
  }

  /** All bytes pushed to the TX DMA device so far. */
  txBytes(deviceName = 'cf-ad9361-dds-core-lpc'): Buffer {
    return Buffer.concat(this.tx.get(deviceName) ?? []);
  }

  sampleRateHz(): number {
    return this.rateHz;
  }

  readAttr(dev: IioDeviceModel, t: AttrTarget, attr: string): string {
    this.requireAttr(dev, t, attr);
    const n = dev.name;
    const chn = t.kind === 'channel' ? t.channel : '';
    const out = t.kind === 'channel' && t.output;
    if (n === 'ad9361-phy' && t.kind === 'channel') {
      if (chn === 'altvoltage0' && attr === 'frequency') return String(this.rxLoHz);
      if (chn === 'altvoltage1' && attr === 'frequency') return String(this.txLoHz);
      if ((chn === 'altvoltage0' || chn === 'altvoltage1') && attr === 'frequency_available') return `[${this.loRangeHz[0]} 1 ${this.loRangeHz[1]}]`;
      if (chn === 'voltage0') {
        if (attr === 'sampling_frequency') return String(this.rateHz);
        if (attr === 'sampling_frequency_available') return `[${this.sampleRateRangeHz[0]} 1 ${this.sampleRateRangeHz[1]}]`;
        if (attr === 'rf_bandwidth') return String(out ? this.txBwHz : this.rxBwHz);
        if (attr === 'rf_bandwidth_available') {
          const r = out ? this.txBandwidthRangeHz : this.rxBandwidthRangeHz;
          return `[${r[0]} 1 ${r[1]}]`;
        }
        if (attr === 'hardwaregain') return `${(out ? this.txGainDb : this.rxGainDb).toFixed(6)} dB`;
        if (attr === 'hardwaregain_available') return out ? '[-89.750000 0.250000 0.000000]' : '[-3 1 71]';
        if (attr === 'gain_control_mode' && !out) return this.gainMode;
      }
    }
    if ((n === 'cf-ad9361-lpc' || n === 'cf-ad9361-dds-core-lpc') && attr === 'sampling_frequency') return String(this.rateHz);
    if (n === 'cf-ad9361-lpc' && attr === 'sampling_frequency_available') return `${this.rateHz} ${Math.round(this.rateHz / 8)}`;
    return this.values.get(key(dev, t, attr)) ?? '0';
  }

  writeAttr(dev: IioDeviceModel, t: AttrTarget, attr: string, value: string): void {
    this.requireAttr(dev, t, attr);
    if (attr.endsWith('_available')) throw new FakeErrno(ERRNO.EACCES, `${attr} is read-only`);
    const n = dev.name;
    const chn = t.kind === 'channel' ? t.channel : '';
    const out = t.kind === 'channel' && t.output;
    const what = `${n} ${chn} ${attr}`;
    const inRange = (x: number, r: [number, number]) => {
      if (x < r[0] || x > r[1]) throw new FakeErrno(ERRNO.EINVAL, `${what}: ${x} outside [${r[0]}, ${r[1]}]`);
    };
    let handled = true;
    if (n === 'ad9361-phy' && (chn === 'altvoltage0' || chn === 'altvoltage1') && attr === 'frequency') {
      const hz = parseIntStrict(value, what);
      inRange(hz, this.loRangeHz);
      const applied = Math.round(hz / this.loStepHz) * this.loStepHz;
      if (chn === 'altvoltage0') this.rxLoHz = applied;
      else this.txLoHz = applied;
    } else if ((n === 'ad9361-phy' && chn === 'voltage0') || n === 'cf-ad9361-lpc' || n === 'cf-ad9361-dds-core-lpc') {
      if (attr === 'sampling_frequency') {
        const hz = parseIntStrict(value, what);
        inRange(hz, this.sampleRateRangeHz);
        this.rateHz = hz;
      } else if (n === 'ad9361-phy' && attr === 'rf_bandwidth') {
        const hz = parseIntStrict(value, what);
        inRange(hz, out ? this.txBandwidthRangeHz : this.rxBandwidthRangeHz);
        if (out) this.txBwHz = hz;
        else this.rxBwHz = hz;
      } else if (n === 'ad9361-phy' && attr === 'hardwaregain') {
        const db = parseFloatStrict(value, what);
        if (out) {
          inRange(db, [-89.75, 0]);
          this.txGainDb = Math.round(db * 4) / 4;
        } else {
          if (this.gainMode !== 'manual') throw new FakeErrno(ERRNO.EINVAL, `${what}: gain_control_mode is ${this.gainMode}, not manual`);
          inRange(db, [-3, 71]);
          this.rxGainDb = Math.round(db);
        }
      } else if (n === 'ad9361-phy' && attr === 'gain_control_mode' && !out) {
        const m = value.trim();
        if (!['manual', 'fast_attack', 'slow_attack', 'hybrid'].includes(m)) throw new FakeErrno(ERRNO.EINVAL, `${what}: unknown mode '${m}'`);
        this.gainMode = m;
      } else handled = false;
    } else handled = false;
    if (!handled) this.values.set(key(dev, t, attr), value.replace(/\n$/, ''));
    const w: FakeAttrWrite = { device: n ?? dev.id, attr, value };
    if (t.kind === 'channel') {
      w.channel = t.channel;
      w.output = t.output;
    }
    this.writes.push(w);
  }

  fillRx(_dev: IioDeviceModel, enabled: IioChannelModel[], firstSample: number, dest: Buffer): void {
    const per = enabled.length;
    const samples = dest.length / (2 * per);
    for (let s = 0; s < samples; s++) {
      const k = 2 * ((firstSample + s) % RX_PERIOD);
      for (let c = 0; c < per; c++) dest.writeInt16LE(RX_TABLE[k + (enabled[c]!.scan!.index === 0 ? 0 : 1)]!, (s * per + c) * 2);
    }
  }

  acceptTx(dev: IioDeviceModel, _enabled: IioChannelModel[], data: Buffer): void {
    const name = dev.name ?? dev.id;
    let list = this.tx.get(name);
    if (!list) this.tx.set(name, (list = []));
    list.push(Buffer.from(data));
  }

  private requireAttr(dev: IioDeviceModel, t: AttrTarget, attr: string): void {
    let list: string[];
    if (t.kind === 'channel') {
      const c = dev.channels.find((x) => x.id === t.channel && x.output === t.output);
      list = c ? c.attrs.map((a) => a.name) : [];
    } else list = t.kind === 'device' ? dev.attrs : t.kind === 'debug' ? dev.debugAttrs : dev.bufferAttrs;
    if (!list.includes(attr)) throw new FakeErrno(ERRNO.ENOENT, `no attribute ${attr}`);
  }
}
