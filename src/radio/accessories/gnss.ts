/**
 * GNSS receiver over a serial port: NMEA 0183 GGA and RMC, for stamping recordings with where and when.
 *
 * NMEA facts used (NMEA 0183 as receivers print it):
 *  - A sentence is `$` + talker (GP, GN, GL, GA, BD...) + type + `,`-separated fields + `*` + two hex
 *    digits (XOR of every character between `$` and `*`) + CRLF; at most 82 characters.
 *  - GGA: time hhmmss.ss, latitude ddmm.mmmm + N/S, longitude dddmm.mmmm + E/W, fix quality (0 none,
 *    1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning...), satellites used, HDOP, altitude above
 *    mean sea level + M, geoid separation + M, DGPS age, station.
 *  - RMC: time, status A (valid) / V (void), latitude, longitude, speed over ground (knots), course over
 *    ground (degrees true), date ddmmyy, magnetic variation, (NMEA 2.3+) mode indicator.
 * Lines that fail the checksum, are cut short, or are noise are counted in `stats` and skipped: a GNSS
 * receiver on a flaky cable must not stop a recording.
 *
 * Time: NMEA time is the time of the fix epoch, and the sentence reaches us some 10-500 ms later (baud
 * rate, receiver). Without a PPS line, `gnssDatetimeAt` is good to that latency, which is still far better
 * than an unsynchronized host clock in the field.
 */
import { EventEmitter } from 'node:events';
import { geoPoint, toSigmfDatetime, type GeoJsonPoint } from '../sigmf/meta.js';
import type { SigmfWriter } from '../sigmf/writer.js';
import { AccessoryConfigError, LineSplitter, SerialLinePort, type AccessoryGoneError } from './serial-line.js';

export interface NmeaSentence {
  talker: string;
  type: string;
  fields: string[];
}

export type NmeaRejectReason = 'garbage' | 'no-checksum' | 'bad-checksum' | 'malformed';

/** XOR of the characters of `body` (what sits between `$` and `*`), as two upper-case hex digits. */
export function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i) & 0xff;
  return x.toString(16).toUpperCase().padStart(2, '0');
}

/** `$body*CS` for a body such as `GPGGA,...` (for talkers in tests and for logs). */
export function nmeaSentence(body: string): string {
  return `$${body}*${nmeaChecksum(body)}`;
}

/** Parses one line; returns the sentence or why it was rejected. Junk before the `$` is skipped. */
export function parseNmeaLine(line: string): NmeaSentence | { reject: NmeaRejectReason } {
  const start = line.lastIndexOf('$');
  if (start < 0) return { reject: 'garbage' };
  const s = line.slice(start).trimEnd();
  const star = s.lastIndexOf('*');
  if (star < 0) return { reject: 'no-checksum' };
  const body = s.slice(1, star);
  const cs = s.slice(star + 1);
  if (!/^[0-9A-Fa-f]{2}$/.test(cs)) return { reject: 'no-checksum' };
  if (cs.toUpperCase() !== nmeaChecksum(body)) return { reject: 'bad-checksum' };
  const fields = body.split(',');
  const address = fields.shift()!;
  if (!/^[A-Z][A-Z0-9]{4,5}$/.test(address)) return { reject: 'malformed' };
  // Proprietary sentences ($P...) have no two-letter talker.
  const talker = address.startsWith('P') ? 'P' : address.slice(0, 2);
  return { talker, type: address.slice(talker.length), fields };
}

/** ddmm.mmmm + hemisphere → signed degrees; undefined for empty fields. */
export function nmeaDegrees(value: string, hemisphere: string, degreeDigits: 2 | 3): number | undefined {
  if (value === '' || hemisphere === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(value) || value.indexOf('.') >= 0 && value.indexOf('.') < degreeDigits + 2) return NaN;
  const deg = Number(value.slice(0, degreeDigits));
  const min = Number(value.slice(degreeDigits));
  if (min >= 60) return NaN;
  const x = deg + min / 60;
  if (hemisphere === 'S' || hemisphere === 'W') return -x;
  if (hemisphere === 'N' || hemisphere === 'E') return x;
  return NaN;
}

/** hhmmss(.sss) → { seconds of day, text with the receiver's precision }. */
function parseTimeOfDay(t: string): { secondsOfDay: number; text: string } | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})(\.\d+)?$/.exec(t);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  const s = Number(m[3]);
  if (h > 23 || min > 59 || s > 60) return undefined;
  return { secondsOfDay: h * 3600 + min * 60 + s + (m[4] ? Number(m[4]) : 0), text: `${m[1]}:${m[2]}:${m[3]}${m[4] ?? ''}` };
}

function num(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  const x = Number(s);
  return Number.isFinite(x) ? x : undefined;
}

export interface GgaData {
  timeOfDay?: string;
  secondsOfDay?: number;
  latDeg?: number;
  lonDeg?: number;
  /** 0 no fix, 1 GPS, 2 DGPS, 3 PPS, 4 RTK fixed, 5 RTK float, 6 dead reckoning, 7 manual, 8 simulator. */
  quality: number;
  satellites?: number;
  hdop?: number;
  altMslM?: number;
  geoidSeparationM?: number;
}

export interface RmcData {
  timeOfDay?: string;
  secondsOfDay?: number;
  valid: boolean;
  latDeg?: number;
  lonDeg?: number;
  speedMps?: number;
  courseDeg?: number;
  /** YYYY-MM-DD */
  date?: string;
}

const KNOT_MPS = 1852 / 3600;

/** GGA fields (after the address) → data; undefined when the sentence is malformed. */
export function parseGga(f: string[]): GgaData | undefined {
  if (f.length < 9) return undefined;
  const quality = Number(f[5]);
  if (!/^\d$/.test(f[5] ?? '')) return undefined;
  const t = f[0] ? parseTimeOfDay(f[0]) : undefined;
  if (f[0] && !t) return undefined;
  const lat = nmeaDegrees(f[1]!, f[2]!, 2);
  const lon = nmeaDegrees(f[3]!, f[4]!, 3);
  if (Number.isNaN(lat) || Number.isNaN(lon) || (lat !== undefined && Math.abs(lat) > 90) || (lon !== undefined && Math.abs(lon) > 180)) return undefined;
  const g: GgaData = { quality };
  if (t) {
    g.timeOfDay = t.text;
    g.secondsOfDay = t.secondsOfDay;
  }
  if (lat !== undefined) g.latDeg = lat;
  if (lon !== undefined) g.lonDeg = lon;
  const sats = num(f[6]);
  if (sats !== undefined) g.satellites = sats;
  const hdop = num(f[7]);
  if (hdop !== undefined) g.hdop = hdop;
  const alt = num(f[8]);
  if (alt !== undefined) g.altMslM = alt;
  const sep = num(f[10]);
  if (sep !== undefined) g.geoidSeparationM = sep;
  return g;
}

/** RMC fields (after the address) → data; undefined when malformed. */
export function parseRmc(f: string[]): RmcData | undefined {
  if (f.length < 9) return undefined;
  if (f[1] !== 'A' && f[1] !== 'V') return undefined;
  const t = f[0] ? parseTimeOfDay(f[0]) : undefined;
  if (f[0] && !t) return undefined;
  const lat = nmeaDegrees(f[2]!, f[3]!, 2);
  const lon = nmeaDegrees(f[4]!, f[5]!, 3);
  if (Number.isNaN(lat) || Number.isNaN(lon)) return undefined;
  // NMEA 2.3+: mode N (not valid) overrides an 'A' status on some receivers.
  const valid = f[1] === 'A' && f[11] !== 'N';
  const r: RmcData = { valid };
  if (t) {
    r.timeOfDay = t.text;
    r.secondsOfDay = t.secondsOfDay;
  }
  if (lat !== undefined) r.latDeg = lat;
  if (lon !== undefined) r.lonDeg = lon;
  const kn = num(f[6]);
  if (kn !== undefined) r.speedMps = kn * KNOT_MPS;
  const course = num(f[7]);
  if (course !== undefined) r.courseDeg = course;
  const d = /^(\d{2})(\d{2})(\d{2})$/.exec(f[8] ?? '');
  if (f[8] && !d) return undefined;
  if (d) {
    // Two-digit years: NMEA has no century; 80..99 → 19xx, else 20xx (GPS began in 1980).
    const yy = Number(d[3]);
    r.date = `${yy >= 80 ? 1900 + yy : 2000 + yy}-${d[2]}-${d[1]}`;
  }
  return r;
}

export interface GnssFix {
  latDeg: number;
  lonDeg: number;
  /** Altitude above mean sea level (GGA), m. */
  altMslM?: number;
  /** Height above the WGS84 ellipsoid (MSL altitude + geoid separation), m, when both are known. */
  altEllipsoidM?: number;
  quality: number;
  satellites?: number;
  hdop?: number;
  speedMps?: number;
  courseDeg?: number;
  /** RFC 3339 UTC of the fix epoch (needs an RMC date), with the receiver's sub-second digits. */
  utc?: string;
  /** Host time (ms since the epoch) when the sentence completing this fix arrived. */
  receivedAtMs: number;
  talker: string;
}

export interface GnssStats {
  lines: number;
  sentences: number;
  gga: number;
  rmc: number;
  /** Other sentence types (GSV, GSA, VTG...), parsed but not used. */
  ignored: number;
  badChecksum: number;
  noChecksum: number;
  malformed: number;
  garbage: number;
  overlong: number;
}

/**
 * Keeps the latest fix from a stream of NMEA lines. Events: 'fix' (GnssFix, each time a GGA or RMC with a
 * valid position arrives), 'nofix' (a sentence saying the receiver has no fix), 'sentence' (NmeaSentence),
 * 'rejected' ({ reason, line }), 'gone' (AccessoryGoneError, when the serial port goes away).
 * Bad input is counted in `stats`, never thrown.
 */
export class GnssReceiver extends EventEmitter {
  private readonly counts: GnssStats = { lines: 0, sentences: 0, gga: 0, rmc: 0, ignored: 0, badChecksum: 0, noChecksum: 0, malformed: 0, garbage: 0, overlong: 0 };
  private fix: GnssFix | undefined;
  private lastRmc: RmcData | undefined;
  private lastGga: GgaData | undefined;
  private readonly splitter = new LineSplitter(256);
  private port: SerialLinePort | undefined;
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    super();
    this.now = opts.now ?? Date.now;
  }

  /** Opens a serial port (9600 baud is the NMEA default; many receivers run 38400 or 115200). */
  static async open(path: string, opts: { baudRate?: number; now?: () => number } = {}): Promise<GnssReceiver> {
    const rx = new GnssReceiver(opts.now ? { now: opts.now } : {});
    const port = await SerialLinePort.open(path, { baudRate: opts.baudRate ?? 9600, maxLineBytes: 256 });
    rx.port = port;
    port.on('line', (l: string) => rx.line(l));
    port.on('gone', (e: AccessoryGoneError) => rx.emit('gone', e));
    return rx;
  }

  /** The latest fix with a valid position, if any. */
  get latestFix(): GnssFix | undefined {
    return this.fix;
  }

  /** Feeds raw bytes (for sources other than a serial port). */
  feed(chunk: Uint8Array | string): void {
    this.splitter.push(chunk, (l) => this.line(l));
  }

  /** Counters of what arrived; overlong lines (noise, wrong baud rate) are counted by the line splitter. */
  get stats(): GnssStats {
    return { ...this.counts, overlong: this.splitter.overlong + (this.port?.overlongLines ?? 0) };
  }

  /** Resolves with the next fix (or the current one, if `acceptCurrent`); rejects after `timeoutMs` or on unplug. */
  waitForFix(timeoutMs: number, acceptCurrent = true): Promise<GnssFix> {
    if (acceptCurrent && this.fix) return Promise.resolve(this.fix);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.off('fix', onFix);
        this.off('gone', onGone);
      };
      const onFix = (f: GnssFix) => {
        done();
        resolve(f);
      };
      const onGone = (e: Error) => {
        done();
        reject(e);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new AccessoryConfigError(
            `no GNSS fix within ${timeoutMs} ms (${this.stats.sentences} good sentences, ${this.stats.badChecksum} bad checksums, ` +
              `${this.stats.garbage + this.stats.overlong} garbage lines${this.stats.sentences === 0 ? '; wrong port or baud rate?' : '; is the antenna outside?'})`,
          ),
        );
      }, timeoutMs);
      this.on('fix', onFix);
      this.on('gone', onGone);
    });
  }

  async close(): Promise<void> {
    await this.port?.close();
  }

  private reject(reason: NmeaRejectReason, line: string): void {
    if (reason === 'bad-checksum') this.counts.badChecksum++;
    else if (reason === 'no-checksum') this.counts.noChecksum++;
    else if (reason === 'malformed') this.counts.malformed++;
    else this.counts.garbage++;
    this.emit('rejected', { reason, line });
  }

  /** Handles one line of text. */
  line(line: string): void {
    this.counts.lines++;
    if (line.trim() === '') return;
    const s = parseNmeaLine(line);
    if ('reject' in s) return this.reject(s.reject, line);
    this.counts.sentences++;
    this.emit('sentence', s);
    if (s.type === 'GGA') {
      const g = parseGga(s.fields);
      if (!g) return this.reject('malformed', line);
      this.counts.gga++;
      this.lastGga = g;
      if (g.quality === 0 || g.latDeg === undefined || g.lonDeg === undefined) return void this.emit('nofix', { sentence: 'GGA' });
      this.update(s.talker, g.latDeg, g.lonDeg, g.secondsOfDay, g.timeOfDay);
    } else if (s.type === 'RMC') {
      const r = parseRmc(s.fields);
      if (!r) return this.reject('malformed', line);
      this.counts.rmc++;
      this.lastRmc = r;
      if (!r.valid || r.latDeg === undefined || r.lonDeg === undefined) return void this.emit('nofix', { sentence: 'RMC' });
      this.update(s.talker, r.latDeg, r.lonDeg, r.secondsOfDay, r.timeOfDay);
    } else this.counts.ignored++;
  }

  private update(talker: string, latDeg: number, lonDeg: number, secondsOfDay: number | undefined, timeOfDay: string | undefined): void {
    const f: GnssFix = { latDeg, lonDeg, quality: 0, receivedAtMs: this.now(), talker };
    const g = this.lastGga;
    // Altitude, satellites and HDOP come from GGA only; use them when that GGA is for the same epoch.
    if (g && (secondsOfDay === undefined || g.secondsOfDay === secondsOfDay)) {
      f.quality = g.quality;
      if (g.altMslM !== undefined) f.altMslM = g.altMslM;
      if (g.altMslM !== undefined && g.geoidSeparationM !== undefined) f.altEllipsoidM = g.altMslM + g.geoidSeparationM;
      if (g.satellites !== undefined) f.satellites = g.satellites;
      if (g.hdop !== undefined) f.hdop = g.hdop;
    } else if (this.fix) {
      f.quality = this.fix.quality;
    }
    const r = this.lastRmc;
    if (r?.valid && (secondsOfDay === undefined || r.secondsOfDay === secondsOfDay)) {
      if (r.speedMps !== undefined) f.speedMps = r.speedMps;
      if (r.courseDeg !== undefined) f.courseDeg = r.courseDeg;
      if (f.quality === 0) f.quality = 1;
    }
    if (r?.date && timeOfDay !== undefined && secondsOfDay !== undefined) {
      // The date comes from the latest RMC; a GGA just after midnight may precede the RMC that moves the date.
      let date = r.date;
      if (r.secondsOfDay !== undefined && r.secondsOfDay - secondsOfDay > 43200) {
        date = new Date(Date.parse(`${date}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
      }
      f.utc = `${date}T${timeOfDay}Z`;
    }
    this.fix = f;
    this.emit('fix', f);
  }
}

/** The SigMF fields a fix gives a recording: global `core:geolocation` and a capture `core:datetime`. */
export function fixToSigmf(fix: GnssFix, atHostMs?: number): { geolocation: GeoJsonPoint; datetime?: string } {
  const geolocation = geoPoint(fix.lonDeg, fix.latDeg, fix.altEllipsoidM ?? fix.altMslM);
  const datetime = gnssDatetimeAt(fix, atHostMs ?? fix.receivedAtMs);
  return datetime === undefined ? { geolocation } : { geolocation, datetime };
}

/**
 * GNSS time at host time `hostMs`: the fix's UTC plus the host time elapsed since the fix arrived.
 * Returns undefined when the fix has no date (no RMC yet). Keeps the receiver's sub-second digits when
 * `hostMs` is the fix's own arrival time.
 */
export function gnssDatetimeAt(fix: GnssFix, hostMs: number): string | undefined {
  if (!fix.utc) return undefined;
  const delta = hostMs - fix.receivedAtMs;
  if (delta === 0) return toSigmfDatetime(fix.utc);
  const [whole, frac = ''] = fix.utc.slice(0, -1).split('.');
  const baseMs = Date.parse(`${whole}Z`) + Number(`0.${frac || '0'}`) * 1000;
  return toSigmfDatetime(new Date(Math.round(baseMs + delta)));
}

/**
 * Stamps a recording with a fix: sets global `core:geolocation` and starts a capture segment at the next
 * sample carrying `core:datetime` (GNSS time at `atHostMs`, e.g. the first block's `receivedAtMs`) and
 * the position. At sample 0 this replaces the first capture's host-clock datetime.
 */
export async function stampRecording(writer: SigmfWriter, fix: GnssFix, atHostMs?: number): Promise<void> {
  const { geolocation, datetime } = fixToSigmf(fix, atHostMs);
  await writer.setGeolocation(geolocation);
  await writer.newCapture(datetime === undefined ? { geolocation } : { geolocation, datetime });
}
