/**
 * `dekag bench phy [--quick] [--json] [--plot FILE.svg]`: the modem on the channel simulator (the
 * measurements: src/radio/phy/bench.ts). Progress goes to stderr, the report to stdout, the BER/SER
 * picture to --plot (default docs/img/phy-ber.svg).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { benchPhy } from '../radio/phy/bench.js';
import { parse } from './options.js';

export async function runPhyBench(argv: string[]): Promise<number> {
  const parsed = parse(argv, { quick: { type: 'boolean' }, json: { type: 'boolean' }, plot: { type: 'string' } }).values;
  const values = parsed as { quick?: boolean; json?: boolean; plot?: string };
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
