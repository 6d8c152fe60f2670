/**
 * `dekag bench phy [--quick] [--json] [--plot FILE.svg]`: the modem on the channel simulator (the
 * measurements: src/radio/phy/bench.ts). Progress goes to stderr, the report to stdout, the BER/SER
 * picture to --plot (default docs/img/phy-ber.svg).
 *
 * `dekag bench phy --peer liquid [--peer-samples N] [--peer-fec v27|h84|none] [--liquid-prefix DIR] [--json]`:
 * only the peer comparison (src/cli/bench-phy-peer.ts): our receiver and liquid-dsp's ofdmflexframesync, each
 * on a file of the same recipe in its own waveform, Msps per CPU-second and their ratio.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { benchPhy } from '../radio/phy/bench.js';
import { optionalInt, parse } from './options.js';
import { UsageError } from '../util/errors.js';

export async function runPhyBench(argv: string[]): Promise<number> {
  const parsed = parse(argv, {
    quick: { type: 'boolean' },
    json: { type: 'boolean' },
    plot: { type: 'string' },
    peer: { type: 'string' },
    'peer-samples': { type: 'string' },
    'peer-fec': { type: 'string' },
    'liquid-prefix': { type: 'string' },
  }).values;
  const values = parsed as { quick?: boolean; json?: boolean; plot?: string; peer?: string; 'peer-fec'?: string; 'liquid-prefix'?: string };
  if (values.peer !== undefined) return runPeer(parsed, values);
  const quick = values.quick ?? false;
  const plotPath = values.plot ?? 'docs/img/phy-ber.svg';
  const t0 = Date.now();
  const { result: measured, svg } = benchPhy({ quick, log: (s) => process.stderr.write(`bench phy: ${s}\n`) });
  mkdirSync(dirname(plotPath) || '.', { recursive: true });
  writeFileSync(plotPath, svg);
  const result = { ...measured, plot: plotPath, elapsed_s: Math.round(((Date.now() - t0) / 1000) * 10) / 10 };
  const tp = result.rx_msps_by_duty;
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(
      [
        `rx_msps ${result.rx_msps} at 50 % frames (${tp.map((t) => `${t.duty * 100}%: ${t.rx_msps}`).join(', ')})`,
        `rx_msps_cpu ${result.rx_msps_cpu} at 50 % frames (${tp.map((t) => `${t.duty * 100}%: ${t.rx_msps_cpu}`).join(', ')})`,
        `snr_rmse_db awgn ${result.snr_rmse_db.awgn} fading ${result.snr_rmse_db.fading}`,
        `detect_rate ${result.detect_rate}  false_alarms_per_1e7 ${result.false_alarms_per_1e7}`,
        `cfo tolerance +-${result.cfo_tolerance_ppm} ppm at 2.4 GHz, sro tolerance +-${result.sro_tolerance_ppm} ppm`,
        `plot ${plotPath}`,
      ].join('\n') + '\n',
    );
  }
  return 0;
}

async function runPeer(parsed: Record<string, unknown>, values: { quick?: boolean; json?: boolean; peer?: string; 'peer-fec'?: string; 'liquid-prefix'?: string }): Promise<number> {
  if (values.peer !== 'liquid') throw new UsageError(`--peer: only 'liquid' is supported, got '${values.peer}'`);
  const fec = values['peer-fec'];
  if (fec !== undefined && fec !== 'v27' && fec !== 'h84' && fec !== 'none') throw new UsageError(`--peer-fec must be v27, h84 or none, got '${fec}'`);
  const samples = optionalInt(parsed, 'peer-samples', values.quick ? 2_000_000 : 20_000_000, 100_000, 200_000_000);
  const { peerLiquid } = await import('./bench-phy-peer.js');
  const r = peerLiquid({ samples, fec, liquidPrefix: values['liquid-prefix'], log: (s) => process.stderr.write(`bench phy: ${s}\n`) });
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    process.stdout.write(
      [
        `ours   ${r.ours.msps_cpu} Msps/CPU-s (${r.ours.fec}; ${r.ours.payloads_valid}/${r.ours.frames} frames decoded)`,
        `liquid ${r.peer.msps_cpu} Msps/CPU-s (${r.peer.fec_description}; ${r.peer.payloads_valid}/${r.peer.frames} frames decoded)`,
        `ratio  ${r.ratio} (ours / liquid)${r.like_for_like ? '' : ' -- NOT like for like'}`,
        `whole \`dekag modem rx\` ${r.ours_command.msps_cpu} Msps/CPU-s, start-up included: ${r.ratio_command} of liquid's receive loop`,
        r.caveat,
      ].join('\n') + '\n',
    );
  }
  return 0;
}
