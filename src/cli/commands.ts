/**
 * The `dekag` command table: each command's name, one-line summary, help text and runner. The help and the
 * runner are imported only when asked for, so `dekag modem rx` loads the modem and nothing else (no
 * onnxruntime, usb or serialport), and `dekag --help` or `dekag CMD --help` loads no command at all: the
 * help texts live in help.ts and help-roles.ts, apart from the commands' modules. main.ts dispatches.
 */

/** A command's work: argv is what follows the command word (or the subcommand word). Returns the exit code. */
export type Runner = (argv: string[]) => Promise<number>;

export interface Command {
  readonly name: string;
  /** One line for `dekag --help` (and, for a subcommand, for the list its command prints when none is named). */
  readonly summary: string;
  /** What `dekag CMD --help` prints; a subcommand without one prints its command's. */
  readonly help?: () => Promise<string>;
  /** Imports the module that runs the command; a command with subcommands has none. */
  readonly load?: () => Promise<Runner>;
  /** `dekag CMD SUB ...`: each subcommand loads its own runner. */
  readonly subcommands?: readonly Command[];
}

type HelpModule = typeof import('./help.js');
type RolesHelpModule = typeof import('./help-roles.js');
const help = (key: keyof HelpModule) => () => import('./help.js').then((h) => h[key]);
const rolesHelp = (key: keyof RolesHelpModule) => () => import('./help-roles.js').then((h) => h[key]);

const BENCHES: readonly Command[] = [
  {
    name: 'generate',
    summary: 'speed of both generators, prompt following and cloud-edge consistency',
    help: help('BENCH_GENERATE_HELP'),
    load: () => import('./bench-generate.js').then((m) => m.runBenchGenerate),
  },
  {
    name: 'phy',
    summary: 'the modem on the channel simulator: throughput, SNR estimates, detection, CFO/SRO tolerance',
    help: help('BENCH_PHY_HELP'),
    load: () => import('./bench-phy.js').then((m) => m.runPhyBench),
  },
  {
    name: 'cala',
    summary: 'JSCC + CALA against no adaptation and the digital links, PSNR vs SNR',
    help: help('BENCH_CALA_HELP'),
    load: () => import('./bench-cala.js').then((m) => m.runBenchCala),
  },
  {
    name: 'mcs',
    summary: 'calibrates the digital latent\'s MCS table: delivery against the measured SNR, flat and selective',
    help: help('BENCH_MCS_HELP'),
    load: () => import('./bench-mcs.js').then((m) => m.runBenchMcs),
  },
  {
    name: 'makd',
    summary: 'edge-cloud consistency with and without the MAKD adapters, per subject',
    help: help('BENCH_MAKD_HELP'),
    load: () => import('./bench-makd.js').then((m) => m.runBenchMakd),
  },
  {
    name: 'usb',
    summary: 'host-side cost of the HackRF/RTL-SDR drivers against the fake devices',
    help: help('BENCH_USB_HELP'),
    load: () => import('./bench-usb.js').then((m) => m.runUsbBench),
  },
  {
    name: 'ui',
    summary: 'how responsive the app stays during sessions: main-thread long tasks in headless Chromium',
    help: help('BENCH_UI_HELP'),
    load: () => import('./bench-ui.js').then((m) => m.runBenchUi),
  },
];

export const COMMANDS: readonly Command[] = [
  {
    name: 'demo',
    summary: 'the main job on the embedded default (shipped models)',
    help: help('DEMO_HELP'),
    load: () => import('./demo.js').then((m) => m.runDemo),
  },
  {
    name: 'cloud',
    summary: 'the cloud role of a session (reference images, MAKD adapters, the session record)',
    help: rolesHelp('CLOUD_HELP'),
    load: () => import('./roles.js').then((m) => m.runCloud),
  },
  {
    name: 'edge',
    summary: 'the edge role (edge-GAI + adapter, JSCC with CALA, rate policy, radio TX)',
    help: rolesHelp('EDGE_HELP'),
    load: () => import('./roles.js').then((m) => m.runEdge),
  },
  {
    name: 'user',
    summary: 'the user role (radio RX, CALA decoding from the measured SNR, feedback)',
    help: rolesHelp('USER_HELP'),
    load: () => import('./roles.js').then((m) => m.runUser),
  },
  {
    name: 'distill',
    summary: 'train a MAKD adapter for the edge-GAI (runs the Python trainer; needs PyTorch)',
    help: help('DISTILL_HELP'),
    load: () => import('./distill.js').then((m) => m.runDistill),
  },
  {
    name: 'serve',
    summary: 'the desktop app in a browser (127.0.0.1, per-run access token)',
    help: help('SERVE_HELP'),
    load: () => import('./serve.js').then((m) => m.runServeCli),
  },
  {
    name: 'generate',
    summary: "generate an image with the cloud's or the edge's generator",
    help: help('GENERATE_HELP'),
    load: () => import('./generate.js').then((m) => m.runGenerate),
  },
  {
    name: 'eval',
    summary: 'score an image against a prompt (and a reference image) with the evaluator',
    help: help('EVAL_HELP'),
    load: () => import('./eval.js').then((m) => m.runEval),
  },
  {
    name: 'sigmf',
    summary: 'inspect (info) and recover (repair) SigMF recordings',
    help: help('SIGMF_HELP'),
    subcommands: [
      {
        name: 'info',
        summary: 'a recording: its meta, checksum, captures and annotations (--json)',
        load: () => import('./sigmf.js').then((m) => (argv: string[]) => m.runSigmfCli(['info', ...argv])),
      },
      {
        name: 'repair',
        summary: 'recover a recording whose writer stopped early',
        load: () => import('./sigmf.js').then((m) => (argv: string[]) => m.runSigmfCli(['repair', ...argv])),
      },
    ],
  },
  {
    name: 'modem',
    summary: "the burst OFDM modem's file interface: tx payloads or JSCC symbols to IQ, rx IQ to frames",
    help: help('MODEM_HELP'),
    subcommands: [
      { name: 'tx', summary: 'payloads or JSCC symbols to an IQ file', load: () => import('./modem.js').then((m) => m.runModemTx) },
      { name: 'rx', summary: 'an IQ file to frames (one line each, --json)', load: () => import('./modem.js').then((m) => m.runModemRx) },
    ],
  },
  {
    name: 'devices',
    summary: 'list radios: loopback, USB (HackRF, RTL-SDR, Pluto), configured network radios (--json)',
    help: help('DEVICES_HELP'),
    load: () => import('./devices.js').then((m) => (argv: string[]) => m.runDevicesCli(argv)),
  },
  {
    name: 'record',
    summary: 'record a radio to SigMF (BASE.sigmf-meta + .sigmf-data), annotating decoded frames',
    help: help('RECORD_HELP'),
    load: () => import('./record.js').then((m) => (argv: string[]) => m.runRecordCli(argv)),
  },
  {
    name: 'rtl-tcp',
    summary: 'serve a receive radio over rtl_tcp (GQRX, SDR++, GNU Radio), 127.0.0.1 by default',
    help: help('RTL_TCP_HELP'),
    subcommands: [
      {
        name: 'serve',
        summary: 'serve a receive radio to rtl_tcp clients until Ctrl-C',
        load: () => import('./rtl-tcp.js').then((m) => (argv: string[]) => m.runRtlTcpCli(['serve', ...argv])),
      },
    ],
  },
  {
    name: 'gnss',
    summary: 'read a GNSS receiver (NMEA GGA/RMC): fixes, SigMF geolocation/datetime, line counts',
    help: help('GNSS_HELP'),
    load: () => import('./accessories.js').then((m) => (argv: string[]) => m.runGnssCli(argv)),
  },
  {
    name: 'attenuator',
    summary: 'drive a serial step attenuator: --set DB | --get | --sweep FROM:TO:STEP',
    help: help('ATTENUATOR_HELP'),
    load: () => import('./accessories.js').then((m) => (argv: string[]) => m.runAttenuatorCli(argv)),
  },
  {
    name: 'bench',
    summary: `benchmarks: ${BENCHES.map((b) => b.name).join(', ')} (--quick, --json)`,
    help: async () => (await Promise.all(BENCHES.map((b) => b.help!()))).join('\n'),
    subcommands: BENCHES,
  },
];

export function findCommand(list: readonly Command[], name: string): Command | undefined {
  return list.find((c) => c.name === name);
}

/** A command's help text: its own, or (for a subcommand without one) its parent's. */
export async function helpOf(command: Command, parent?: Command): Promise<string> {
  const text = command.help ?? parent?.help;
  return text ? text() : command.summary;
}
