/**
 * `dekag gnss` and `dekag attenuator`: the serial accessories from the command line, to check a receiver
 * or an attenuator before a recording or an SNR sweep. argv excludes the command word. Bad input prints
 * one line on stderr and returns non-zero; never throws.
 */
import { readFileSync } from 'node:fs';
import { DekagError, UsageError } from '../util/errors.js';
import { Attenuator, GENERIC_ATTENUATOR, protocolFromJson, type AttenuatorProtocol } from '../radio/accessories/attenuator.js';
import { GnssReceiver, fixToSigmf, type GnssFix } from '../radio/accessories/gnss.js';
import { optionalInt, optionalNumber, parse, requireString } from './options.js';
import { ATTENUATOR_HELP, GNSS_HELP } from './help.js';

export { ATTENUATOR_HELP, GNSS_HELP };

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

function fail(cmd: string, e: unknown, out: Out): number {
  const msg = e instanceof DekagError ? e.message : ((e as Error).message ?? String(e));
  out.stderr(`dekag ${cmd}: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
  return e instanceof UsageError ? 2 : 1;
}

function fixLine(f: GnssFix): string {
  const alt = f.altMslM === undefined ? '' : ` alt ${f.altMslM.toFixed(1)} m`;
  const q = `quality ${f.quality}${f.satellites === undefined ? '' : `, ${f.satellites} sats`}${f.hdop === undefined ? '' : `, HDOP ${f.hdop}`}`;
  return `${f.utc ?? '(no date yet)'} ${f.latDeg.toFixed(6)}, ${f.lonDeg.toFixed(6)}${alt} (${q})`;
}

export async function runGnssCli(argv: string[], out: Out = defaultOut): Promise<number> {
  let rx: GnssReceiver | undefined;
  try {
    if (argv[0] === '--help' || argv[0] === '-h') {
      out.stdout(GNSS_HELP + '\n');
      return 0;
    }
    const { values } = parse(argv, { port: { type: 'string' }, baud: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' } });
    const port = requireString(values, 'port');
    const baudRate = optionalInt(values, 'baud', 9600, 300, 4_000_000);
    const seconds = optionalNumber(values, 'seconds', 10, 0.1, 86400);
    rx = await GnssReceiver.open(port, { baudRate });
    const r = rx;
    let fixes = 0;
    r.on('fix', (f: GnssFix) => {
      fixes++;
      out.stdout(values['json'] ? `${JSON.stringify({ event: 'fix', ...f, sigmf: fixToSigmf(f) })}\n` : `${fixLine(f)}\n`);
    });
    const gone = await new Promise<Error | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), seconds * 1000);
      r.once('gone', (e: Error) => {
        clearTimeout(t);
        resolve(e);
      });
    });
    const s = r.stats;
    out.stdout(
      values['json']
        ? `${JSON.stringify({ event: 'stats', ...s })}\n`
        : `${fixes} fixes; ${s.sentences} sentences (${s.gga} GGA, ${s.rmc} RMC), ${s.badChecksum} bad checksums, ${s.garbage + s.overlong + s.malformed + s.noChecksum} garbage lines\n`,
    );
    if (gone) return fail('gnss', gone, out);
    if (fixes === 0) out.stderr(`dekag gnss: no fix in ${seconds} s${s.sentences === 0 ? ' (no NMEA at all: wrong port or baud rate?)' : ''}\n`);
    return fixes > 0 ? 0 : 1;
  } catch (e) {
    return fail('gnss', e, out);
  } finally {
    await rx?.close();
  }
}

export async function runAttenuatorCli(argv: string[], out: Out = defaultOut): Promise<number> {
  let att: Attenuator | undefined;
  try {
    if (argv[0] === '--help' || argv[0] === '-h') {
      out.stdout(ATTENUATOR_HELP + '\n');
      return 0;
    }
    const { values } = parse(argv, {
      port: { type: 'string' },
      set: { type: 'string' },
      get: { type: 'boolean' },
      sweep: { type: 'string' },
      'dwell-ms': { type: 'string' },
      protocol: { type: 'string' },
      baud: { type: 'string' },
      json: { type: 'boolean' },
    });
    const port = requireString(values, 'port');
    const actions = ['set', 'get', 'sweep'].filter((k) => values[k] !== undefined);
    if (actions.length !== 1) throw new UsageError('give exactly one of --set DB, --get, --sweep FROM:TO:STEP');
    let protocol: AttenuatorProtocol = GENERIC_ATTENUATOR;
    if (typeof values['protocol'] === 'string') {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(values['protocol'], 'utf8'));
      } catch (e) {
        throw new UsageError(`--protocol ${values['protocol']}: ${(e as Error).message}`);
      }
      protocol = protocolFromJson(json);
    }
    if (values['baud'] !== undefined) protocol = { ...protocol, baudRate: optionalInt(values, 'baud', 9600, 300, 4_000_000) };
    const json = values['json'] === true;
    const report = (o: Record<string, unknown>, text: string) => out.stdout(json ? `${JSON.stringify(o)}\n` : `${text}\n`);
    att = await Attenuator.open(port, protocol);
    if (typeof values['set'] === 'string') {
      const db = Number(values['set']);
      if (!Number.isFinite(db)) throw new UsageError(`--set must be a number of dB, got '${values['set']}'`);
      const applied = await att.set(db);
      report({ event: 'set', db: applied }, `attenuation ${applied} dB`);
    } else if (values['get']) {
      const db = await att.get();
      report({ event: 'get', db }, `attenuation ${db} dB`);
    } else {
      const m = /^(-?[\d.]+):(-?[\d.]+):([\d.]+)$/.exec(String(values['sweep']));
      if (!m) throw new UsageError(`--sweep must be FROM:TO:STEP in dB, e.g. 0:30:2, got '${values['sweep']}'`);
      const dwellMs = optionalInt(values, 'dwell-ms', 1000, 0, 3_600_000);
      for await (const step of att.sweep({ fromDb: Number(m[1]), toDb: Number(m[2]), stepDb: Number(m[3]) })) {
        report({ event: 'step', ...step }, `step ${step.index}: ${step.db} dB`);
        if (dwellMs > 0) await new Promise((r) => setTimeout(r, dwellMs));
      }
    }
    return 0;
  } catch (e) {
    return fail('attenuator', e, out);
  } finally {
    await att?.close();
  }
}
