/**
 * The `dekag` command. Each subcommand lives in its own module; this file only dispatches and turns
 * typed errors into one clear line on stderr and a non-zero exit code.
 */
import { DekagError } from '../util/errors.js';
import { EXIT, PEER_ERROR_CODES } from './exit.js';
import { runBenchGenerate } from './bench-generate.js';
import { BENCH_CALA_HELP, runBenchCala } from './bench-cala.js';
import { BENCH_MAKD_HELP, runBenchMakd } from './bench-makd.js';
import { DISTILL_HELP, runDistill } from './distill.js';
import { DEMO_HELP, runDemo } from './demo.js';
import { CLOUD_HELP, EDGE_HELP, USER_HELP, runCloud, runEdge, runUser } from './roles.js';
import { runServeCli, SERVE_HELP } from './serve.js';
import { EVAL_HELP, runEval } from './eval.js';
import { GENERATE_HELP, runGenerate } from './generate.js';
import { runSigmfCli, SIGMF_HELP } from './sigmf.js';
import { MODEM_HELP, runModemCli } from './modem.js';
import { runPhyBench } from './bench-phy.js';
import { runUsbBench } from './bench-usb.js';
import { DEVICES_HELP, runDevicesCli } from './devices.js';
import { RECORD_HELP, runRecordCli } from './record.js';
import { RTL_TCP_HELP, runRtlTcpCli } from './rtl-tcp.js';
import { ATTENUATOR_HELP, GNSS_HELP, runAttenuatorCli, runGnssCli } from './accessories.js';

type Command = (argv: string[]) => Promise<number>;

const BENCHES: Record<string, Command> = {
  generate: runBenchGenerate,
  phy: runPhyBench,
  cala: runBenchCala,
  makd: runBenchMakd,
  usb: runUsbBench,
};

const COMMANDS: Record<string, Command> = {
  demo: runDemo,
  cloud: runCloud,
  edge: runEdge,
  user: runUser,
  serve: runServeCli,
  generate: runGenerate,
  distill: runDistill,
  eval: runEval,
  sigmf: (argv) => runSigmfCli(argv),
  modem: runModemCli,
  devices: (argv) => runDevicesCli(argv),
  record: (argv) => runRecordCli(argv),
  'rtl-tcp': (argv) => runRtlTcpCli(argv),
  gnss: (argv) => runGnssCli(argv),
  attenuator: (argv) => runAttenuatorCli(argv),
  bench: async (argv) => {
    const [name, ...rest] = argv;
    const bench = name ? BENCHES[name] : undefined;
    if (!bench) {
      process.stderr.write(`dekag bench: choose one of ${Object.keys(BENCHES).join(', ')}\n`);
      return 2;
    }
    return bench(rest);
  },
};

export const HELP = `dekag: DeKA-g generative semantic communication testbed

Usage: dekag <command> [options]

Commands:
  demo        the main job on the embedded default (shipped models)
  cloud       the cloud role of a session (reference images, MAKD adapters, the session record)
  edge        the edge role (edge-GAI + adapter, JSCC with CALA, rate policy, radio TX)
  user        the user role (radio RX, CALA decoding from the measured SNR, feedback)
  distill     train a MAKD adapter for the edge-GAI (runs the Python trainer; needs PyTorch)
  serve       the desktop app in a browser (127.0.0.1, per-run access token)
  generate    generate an image with the cloud's or the edge's generator
  eval        score an image against a prompt (and a reference image) with the evaluator
  sigmf       inspect (info) and recover (repair) SigMF recordings
  modem       the burst OFDM modem's file interface: tx payloads or JSCC symbols to IQ, rx IQ to frames
  devices     list radios: loopback, USB (HackRF, RTL-SDR, Pluto), configured network radios (--json)
  record      record a radio to SigMF (BASE.sigmf-meta + .sigmf-data), annotating decoded frames
  rtl-tcp     serve a receive radio over rtl_tcp (GQRX, SDR++, GNU Radio), 127.0.0.1 by default
  gnss        read a GNSS receiver (NMEA GGA/RMC): fixes, SigMF geolocation/datetime, line counts
  attenuator  drive a serial step attenuator: --set DB | --get | --sweep FROM:TO:STEP
  bench       benchmarks: ${Object.keys(BENCHES).join(', ')} (--quick, --json)

${DEMO_HELP}

${CLOUD_HELP}

${EDGE_HELP}

${USER_HELP}

${SERVE_HELP}

${GENERATE_HELP}

${DISTILL_HELP}

${EVAL_HELP}

${SIGMF_HELP}

${DEVICES_HELP}

${RECORD_HELP}

${RTL_TCP_HELP}

${GNSS_HELP}

${ATTENUATOR_HELP}

${MODEM_HELP.replace(/^usage:\n */, "")}

dekag bench generate [--quick] [--json] [--out FILE.json] [--picture FILE.png]
dekag bench phy [--quick] [--json] [--plot FILE.svg]
${BENCH_CALA_HELP}
${BENCH_MAKD_HELP}
dekag bench usb [--json]
  host-side cost of the HackRF/RTL-SDR drivers (sample conversion, per-transfer overhead) against the fake devices
`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`dekag: unknown command '${command}'; try 'dekag --help'\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof DekagError) {
      process.stderr.write(`dekag ${command}: ${e.message}\n`);
      return e.code === 'E_USAGE' || e.code === 'E_PROMPT' ? EXIT.USAGE : PEER_ERROR_CODES.includes(e.code) ? EXIT.PEER : EXIT.ERROR;
    }
    throw e;
  }
}
