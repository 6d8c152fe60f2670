/**
 * `dekag sigmf info FILE [--json]` and `dekag sigmf repair BASE`: look at and recover SigMF recordings.
 * argv excludes the word `sigmf`. Bad input prints one line on stderr and returns non-zero; never throws.
 */
import { DekagError, UsageError } from '../util/errors.js';
import type { RepairOptions } from '../radio/sigmf/repair.js';
import type { SigmfInfo } from '../radio/sigmf/info.js';
import { parse } from './options.js';
import { SIGMF_HELP } from './help.js';

export { SIGMF_HELP };

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

const defaultOut: Out = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

export async function runSigmfCli(argv: string[], out: Out = defaultOut): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'info') return await runInfo(rest, out);
    if (sub === 'repair') return await runRepair(rest, out);
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      out.stdout(SIGMF_HELP + '\n');
      return sub === undefined ? 2 : 0;
    }
    out.stderr(`dekag sigmf: unknown subcommand '${sub}'; use 'info' or 'repair'\n`);
    return 2;
  } catch (e) {
    const usage = e instanceof UsageError;
    const msg = e instanceof DekagError ? e.message : `${(e as Error).message ?? String(e)}`;
    out.stderr(`dekag sigmf ${sub}: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
    return usage ? 2 : 1;
  }
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`expected exactly one ${what}, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  }
  return positionals[0]!;
}

async function runInfo(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' }, 'no-checksum': { type: 'boolean' } }, true);
  const file = onePositional(positionals, 'FILE');
  const { sigmfInfo } = await import('../radio/sigmf/info.js');
  const opts: Parameters<typeof sigmfInfo>[1] = { checksum: values['no-checksum'] !== true };
  const info = await sigmfInfo(file, opts);
  if (values.json) out.stdout(JSON.stringify(info, null, 2) + '\n');
  else out.stdout(formatInfo(info));
  // A file that reads but fails its checksum or validation is worth a non-zero status for scripts.
  return info.sha512_ok === false || info.schema_valid === false ? 1 : 0;
}

function formatInfo(i: SigmfInfo): string {
  const g = i.global;
  const lines = [
    `${i.path} (${i.kind === 'archive' ? 'archive' : 'meta + data'})`,
    `  datatype      ${i.datatype}, ${i.num_channels} channel(s)`,
    `  sample rate   ${i.sample_rate ?? 'unknown'} Hz`,
    `  samples       ${i.sample_count}${i.duration_s !== null ? ` (${i.duration_s.toFixed(3)} s)` : ''}` +
      (i.partial_bytes ? `, plus ${i.partial_bytes} bytes of a partial sample` : ''),
    `  sha512        ${i.sha512_ok === null ? 'not checked (no core:sha512)' : i.sha512_ok ? 'ok' : 'MISMATCH'}`,
    `  schema        ${i.schema_valid === null ? 'not validated' : i.schema_valid ? 'valid' : 'INVALID'}`,
  ];
  for (const k of ['core:description', 'core:author', 'core:hw', 'core:recorder', 'core:version']) {
    if (g[k] !== undefined) lines.push(`  ${k.slice(5).padEnd(13)} ${String(g[k])}`);
  }
  if (i.finalized === false) lines.push(`  finalized     no (still recording, or its writer stopped: 'dekag sigmf repair')`);
  lines.push(`  captures      ${i.captures.length}`);
  for (const c of i.captures.slice(0, 20)) {
    const parts = [`sample ${c['core:sample_start']}`];
    if (c['core:frequency'] !== undefined) parts.push(`${c['core:frequency']} Hz`);
    if (c['core:datetime'] !== undefined) parts.push(String(c['core:datetime']));
    lines.push(`    ${parts.join(', ')}`);
  }
  lines.push(`  annotations   ${i.annotations_count}`);
  for (const a of i.annotations.slice(0, 20)) {
    const text = a['core:label'] ?? a['core:comment'] ?? '';
    lines.push(`    [${a['core:sample_start']}, +${a['core:sample_count'] ?? '...'}] ${text}`);
  }
  if (i.annotations_count > 20) lines.push(`    ... ${i.annotations_count - 20} more (--json lists all)`);
  for (const e of i.schema_errors) lines.push(`  schema error: ${e}`);
  for (const p of i.problems) lines.push(`  problem: ${p}`);
  if (i.unreadable) lines.push(`  unreadable: ${i.unreadable}`);
  return lines.join('\n') + '\n';
}

async function runRepair(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parse(argv, {
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    rehash: { type: 'boolean' },
    datatype: { type: 'string' },
    'sample-rate': { type: 'string' },
  }, true);
  const base = onePositional(positionals, 'BASE');
  const opts: RepairOptions = { dryRun: values['dry-run'] === true, rehash: values.rehash === true };
  if (typeof values.datatype === 'string') opts.datatype = values.datatype;
  if (typeof values['sample-rate'] === 'string') {
    const r = Number(values['sample-rate']);
    if (!Number.isFinite(r) || r < 1) throw new UsageError(`--sample-rate must be a number >= 1 (Hz), got '${values['sample-rate']}'`);
    opts.sampleRateHz = r;
  }
  const { repairSigmf } = await import('../radio/sigmf/repair.js');
  const report = await repairSigmf(base, opts);
  if (values.json) {
    out.stdout(JSON.stringify(report, null, 2) + '\n');
  } else {
    const verb = report.dryRun ? 'would' : 'did';
    if (!report.changed) out.stdout(`${report.base}: consistent, nothing to repair (${report.sampleCount} samples)\n`);
    else out.stdout(`${report.base}: ${report.dryRun ? 'dry run, ' : ''}${verb}:\n${report.actions.map((a) => `  - ${a}\n`).join('')}`);
    for (const w of report.warnings) out.stdout(`  warning: ${w}\n`);
  }
  return report.validation.valid === false ? 1 : 0;
}
