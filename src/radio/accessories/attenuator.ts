/**
 * A programmable step attenuator for controlled SNR sweeps in cabled tests, driven by a configurable
 * line-based command protocol over a serial port.
 *
 * The protocol is data, not code, because every vendor's differs: a set template (`ATT {db:.2f}\r\n`), an
 * optional query template (`ATT?\r\n`) with a regular expression whose first group is the attenuation in
 * the reply, an optional acknowledgement pattern for sets (`^OK`), an optional error pattern, the range,
 * step, settle time and reply timeout. Templates take `{db}` or `{steps}` (attenuation / step), optionally
 * scaled (`{db*4:d}` for devices counting quarter-dB units) and formatted: `.Nf` (N decimals), `d`
 * (integer), `0Nd` (zero-padded integer).
 *
 * Only a generic preset ships: vendors' serial command sets could not be checked against their manuals
 * here, and a wrong preset is worse than none. Write a protocol object for your device (docs/
 * radios-pluto-accessories.md shows how).
 */
import { AccessoryConfigError, AccessoryGoneError, AccessoryProtocolError, AccessoryTimeoutError, SerialLinePort } from './serial-line.js';

export interface AttenuatorProtocol {
  /** For messages, e.g. "generic ATT protocol". */
  name: string;
  setTemplate: string;
  queryTemplate?: string;
  /** Reply to a query; group 1 is the attenuation in dB. Required with `queryTemplate`. */
  queryReply?: RegExp;
  /** Reply the device sends after a set; undefined when it sends none. */
  setReply?: RegExp;
  /** A reply meaning the device refused the command (checked before the other patterns). */
  errorReply?: RegExp;
  minDb: number;
  maxDb: number;
  stepDb: number;
  /** What to do with values between steps: round to the nearest step, or refuse (default round). */
  offStep?: 'round' | 'reject';
  /** Time for the attenuation to settle after a set, ms. */
  settleMs: number;
  /** How long to wait for a reply, ms. */
  replyTimeoutMs: number;
  baudRate?: number;
  /** After each set, query and check the device reports the value (needs a query; default true when one exists). */
  verify?: boolean;
}

/** A line protocol many simple attenuators (and bench firmware) use: `ATT 12.50` / `ATT?` → `ATT 12.50`, `OK`, `ERR ...`. */
export const GENERIC_ATTENUATOR: AttenuatorProtocol = {
  name: 'generic ATT protocol',
  setTemplate: 'ATT {db:.2f}\r\n',
  queryTemplate: 'ATT?\r\n',
  queryReply: /^ATT\s+(-?\d+(?:\.\d+)?)/,
  setReply: /^OK\b/,
  errorReply: /^ERR\b/,
  minDb: 0,
  maxDb: 95.25,
  stepDb: 0.25,
  offStep: 'round',
  settleMs: 20,
  replyTimeoutMs: 500,
  baudRate: 9600,
};

/**
 * A protocol from JSON (a file a user writes for their device): the GENERIC_ATTENUATOR fields, with the
 * reply patterns as regular-expression strings. Fields left out take the generic protocol's values.
 */
export function protocolFromJson(json: unknown): AttenuatorProtocol {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new AccessoryConfigError('attenuator protocol must be a JSON object');
  const o = json as Record<string, unknown>;
  const known = new Set(Object.keys(GENERIC_ATTENUATOR).concat(['verify']));
  for (const k of Object.keys(o)) if (!known.has(k)) throw new AccessoryConfigError(`attenuator protocol: unknown field '${k}'; known: ${[...known].join(', ')}`);
  const p: AttenuatorProtocol = { ...GENERIC_ATTENUATOR, name: 'custom attenuator protocol' };
  const rec = p as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (k === 'queryReply' || k === 'setReply' || k === 'errorReply') {
      if (v === null) {
        delete rec[k];
        continue;
      }
      if (typeof v !== 'string') throw new AccessoryConfigError(`attenuator protocol: ${k} must be a regular expression string or null`);
      try {
        rec[k] = new RegExp(v);
      } catch (e) {
        throw new AccessoryConfigError(`attenuator protocol: ${k} is not a valid regular expression: ${(e as Error).message}`);
      }
    } else if (k === 'queryTemplate' && v === null) delete rec[k];
    else rec[k] = v;
  }
  checkProtocol(p);
  return p;
}

const PLACEHOLDER = /\{(db|steps)(?:\*(-?\d+(?:\.\d+)?))?(?::(\.\d+f|0?\d*d))?\}/g;

/** Fills a command template; throws AccessoryConfigError for unknown placeholders. */
export function formatTemplate(template: string, values: { db: number; steps: number }): string {
  const stray = template.replace(PLACEHOLDER, '').match(/\{[^}]*\}/);
  if (stray) {
    throw new AccessoryConfigError(`template '${template.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}' has an unknown placeholder ${stray[0]}; use {db}, {steps}, {db*4:d}, {db:.2f}, {steps:03d}`);
  }
  return template.replace(PLACEHOLDER, (_m, name: 'db' | 'steps', scale?: string, fmt?: string) => {
    const x = values[name] * (scale === undefined ? 1 : Number(scale));
    if (!fmt) return String(Math.round(x * 1e9) / 1e9);
    if (fmt.endsWith('f')) return x.toFixed(Number(fmt.slice(1, -1)));
    const width = fmt.length > 1 ? Number(fmt.slice(0, -1)) : 0;
    const n = Math.round(x);
    const digits = String(Math.abs(n)).padStart(width - (n < 0 ? 1 : 0), '0');
    return n < 0 ? `-${digits}` : digits;
  });
}

/** Checks a protocol object; throws AccessoryConfigError naming the field. */
export function checkProtocol(p: AttenuatorProtocol): void {
  const bad = (m: string): never => {
    throw new AccessoryConfigError(`attenuator protocol '${p.name}': ${m}`);
  };
  if (!(Number.isFinite(p.minDb) && Number.isFinite(p.maxDb) && p.minDb <= p.maxDb)) bad(`minDb ${p.minDb} .. maxDb ${p.maxDb} is not a range`);
  if (!(p.stepDb > 0)) bad(`stepDb must be > 0, got ${p.stepDb}`);
  if (!(p.settleMs >= 0)) bad(`settleMs must be >= 0, got ${p.settleMs}`);
  if (!(p.replyTimeoutMs > 0)) bad(`replyTimeoutMs must be > 0, got ${p.replyTimeoutMs}`);
  if (p.queryTemplate !== undefined && !p.queryReply) bad('queryTemplate needs queryReply (a regex whose group 1 is the dB value)');
  formatTemplate(p.setTemplate, { db: p.minDb, steps: 0 });
  if (p.queryTemplate !== undefined) formatTemplate(p.queryTemplate, { db: 0, steps: 0 });
}

/** Validates and rounds a requested attenuation to the device's step; throws AccessoryConfigError. */
export function quantizeDb(p: AttenuatorProtocol, db: number): number {
  if (!Number.isFinite(db)) throw new AccessoryConfigError(`attenuation must be a number of dB, got ${db}`);
  const eps = p.stepDb * 1e-6;
  if (db < p.minDb - eps || db > p.maxDb + eps) {
    throw new AccessoryConfigError(`attenuation ${db} dB is out of range; ${p.name} accepts ${p.minDb}..${p.maxDb} dB in ${p.stepDb} dB steps`);
  }
  const steps = Math.round((db - p.minDb) / p.stepDb);
  const q = Math.round((p.minDb + steps * p.stepDb) * 1e9) / 1e9;
  if ((p.offStep ?? 'round') === 'reject' && Math.abs(q - db) > eps) {
    throw new AccessoryConfigError(`attenuation ${db} dB is not on a ${p.stepDb} dB step; the nearest steps are ${q > db ? q - p.stepDb : q} and ${q > db ? q : q + p.stepDb} dB`);
  }
  return Math.min(p.maxDb, Math.max(p.minDb, q));
}

export interface SweepSpec {
  fromDb: number;
  toDb: number;
  stepDb: number;
}

export interface SweepStep {
  index: number;
  /** Attenuation applied (after rounding to the device's step), dB. */
  db: number;
  /** Host time when the attenuation had settled, ms since the epoch. */
  settledAtMs: number;
}

/** The attenuations of a sweep, inclusive of both ends, in the direction from → to. */
export function sweepValues(spec: SweepSpec): number[] {
  if (!(spec.stepDb > 0)) throw new AccessoryConfigError(`sweep stepDb must be > 0, got ${spec.stepDb}`);
  const dir = spec.toDb >= spec.fromDb ? 1 : -1;
  const n = Math.floor(Math.abs(spec.toDb - spec.fromDb) / spec.stepDb + 1e-9);
  const out: number[] = [];
  for (let k = 0; k <= n; k++) out.push(Math.round((spec.fromDb + dir * k * spec.stepDb) * 1e9) / 1e9);
  if (out[out.length - 1] !== spec.toDb) out.push(spec.toDb);
  return out;
}

export class Attenuator {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly pending: string[] = [];
  private waiter: (() => void) | undefined;
  private current: number | undefined;

  private constructor(
    private readonly port: SerialLinePort,
    readonly protocol: AttenuatorProtocol,
  ) {
    port.on('line', (l: string) => {
      if (l.trim() === '') return;
      this.pending.push(l.trim());
      this.wake();
    });
    port.on('gone', () => this.wake());
  }

  static async open(path: string, protocol: AttenuatorProtocol = GENERIC_ATTENUATOR): Promise<Attenuator> {
    checkProtocol(protocol);
    const port = await SerialLinePort.open(path, { baudRate: protocol.baudRate ?? 9600, maxLineBytes: 256 });
    return new Attenuator(port, protocol);
  }

  get path(): string {
    return this.port.path;
  }

  /** The last attenuation set (dB), if any. */
  get attenuationDb(): number | undefined {
    return this.current;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const p = this.tail.then(op, op);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private async nextLine(command: string): Promise<string> {
    const deadline = Date.now() + this.protocol.replyTimeoutMs;
    for (;;) {
      if (this.pending.length > 0) return this.pending.shift()!;
      if (this.port.gone) throw this.port.gone;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new AccessoryTimeoutError(
          `attenuator on ${this.port.path} did not answer '${printable(command)}' within ${this.protocol.replyTimeoutMs} ms; ` +
            `check power, cable, baud rate (${this.protocol.baudRate ?? 9600}) and that it speaks the ${this.protocol.name}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private checkError(command: string, reply: string): void {
    if (this.protocol.errorReply?.test(reply)) {
      throw new AccessoryProtocolError(`attenuator on ${this.port.path} refused '${printable(command)}': ${reply}`);
    }
  }

  /** Sets the attenuation; resolves with the applied value once it has settled. */
  async set(db: number): Promise<number> {
    const q = quantizeDb(this.protocol, db);
    return this.serialize(async () => {
      const p = this.protocol;
      const command = formatTemplate(p.setTemplate, { db: q, steps: Math.round((q - p.minDb) / p.stepDb) });
      this.pending.length = 0; // stale chatter must not be taken for this command's reply
      await this.port.write(command);
      if (p.setReply) {
        const reply = await this.nextLine(command);
        this.checkError(command, reply);
        if (!p.setReply.test(reply)) throw new AccessoryProtocolError(`attenuator on ${this.port.path} answered '${reply}' to '${printable(command)}', expected ${p.setReply}`);
      }
      if ((p.verify ?? p.queryTemplate !== undefined) && p.queryTemplate !== undefined) {
        const got = await this.queryNow();
        if (Math.abs(got - q) > p.stepDb / 2) {
          throw new AccessoryProtocolError(`attenuator on ${this.port.path} reports ${got} dB after being set to ${q} dB`);
        }
      }
      if (p.settleMs > 0) await new Promise((r) => setTimeout(r, p.settleMs));
      this.current = q;
      return q;
    });
  }

  /** Asks the device for its attenuation (needs a query template). */
  async get(): Promise<number> {
    if (this.protocol.queryTemplate === undefined) {
      throw new AccessoryConfigError(`the ${this.protocol.name} has no query command; the last value set is attenuationDb`);
    }
    return this.serialize(() => this.queryNow());
  }

  private async queryNow(): Promise<number> {
    const p = this.protocol;
    const command = formatTemplate(p.queryTemplate!, { db: 0, steps: 0 });
    this.pending.length = 0;
    await this.port.write(command);
    const reply = await this.nextLine(command);
    this.checkError(command, reply);
    const m = p.queryReply!.exec(reply);
    const x = m ? Number(m[1]) : NaN;
    if (!Number.isFinite(x)) throw new AccessoryProtocolError(`attenuator on ${this.port.path} answered '${reply}' to '${printable(command)}', expected ${p.queryReply}`);
    return x;
  }

  /**
   * Steps through attenuations for an SNR sweep, yielding after each step has settled; the caller measures
   * and then asks for the next step. Values are validated up front, so a sweep never stops half-way for a
   * range error.
   */
  async *sweep(spec: SweepSpec | number[]): AsyncGenerator<SweepStep> {
    const values = (Array.isArray(spec) ? spec : sweepValues(spec)).map((v) => quantizeDb(this.protocol, v));
    for (const [index, v] of values.entries()) {
      const db = await this.set(v);
      yield { index, db, settledAtMs: Date.now() };
    }
  }

  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.port.close();
  }
}

function printable(s: string): string {
  return s.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

export { AccessoryConfigError, AccessoryGoneError, AccessoryProtocolError, AccessoryTimeoutError };
