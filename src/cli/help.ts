/**
 * The `dekag` commands' help texts, apart from the session roles' (help-roles.ts). They live here rather
 * than in the commands' modules so that `dekag CMD --help` loads no command: this module imports nothing
 * but a pure leaf of gsc (the sampler's defaults).
 */
import { DEFAULT_GUIDANCE, DEFAULT_STEPS } from '../gsc/sampler.js';

/** `dekag demo` */
export const DEMO_HELP = `dekag demo [--quick] [--snr DB] [--rate R] [--prompts FILE] [--radio loopback | --tx NAME --rx NAME] [--out DIR]
  a whole session on the shipped models over the loopback radio: cloud, edge (with and without the MAKD
  adapter), JSCC with CALA over the air, the user's image, the closed SNR loop; writes DIR/report.html,
  DIR/summary.json and DIR/session.jsonl (default DIR out/demo)
  --tx NAME --rx NAME  two radios instead of the loopback: the edge transmits on NAME (hackrf, pluto:HOST,
                    loopback) and the user receives on NAME (rtlsdr:0, rtl_tcp:HOST:PORT, pluto:HOST); the
                    same name twice is one full-duplex radio. A HackRF is half-duplex: --tx hackrf --rx rtlsdr:0
  --freq MHZ        centre frequency for --tx/--rx (default 915; the testbed sets no SNR on real radios)
  --quick           6 prompts (about a minute on a 2-core laptop) instead of 20
  --snr DB          fixed channel SNR; default: a sweep 20 -> 2 -> 20 dB that shows the loop adapting
  --rate R          fixed JSCC rate (1/16, 1/8, 1/4, 1/2, 1); default: the edge adapts it to the fed-back SNR
  --prompts FILE    one prompt per line (# comments), or a JSON list of strings
  --link MODE       how the edge sends each latent: hybrid (default: JSCC + CALA or the digital latent,
                    whichever predicts better at the fed-back SNR), jscc, or digital
  --fading          EPA multipath, one static draw per burst, on top of the noise and the impairments
  --ideal-radio     no impairments (by default the loopback has a cabled SDR pair's: CFO 10 ppm,
                    phase noise, IQ imbalance, 8-bit ADC)
  --record BASE     also record what the user received as SigMF (BASE.sigmf-meta/-data)
  --seed N          generation and channel seed (default 0)
  --json            print summary.json to stdout`;

/** `dekag serve` */
export const SERVE_HELP = `dekag serve [--port P] [--host 127.0.0.1] [--models DIR] [--recordings DIR] [--adapters DIR] [--provider P] [--new-token]
  serves the desktop app in a browser: prints a URL with an access token (open it in a browser on this
  machine); the API runs over a WebSocket on the same port. --port 0 (default 8620; 0 = any free port).
  The token is kept in ~/.dekag/serve-token (mode 0600; folder: $DEKAG_CONFIG_DIR), so a restarted server
  answers the same URL and open pages reconnect; --new-token makes a new one (old links stop working).
  A token file others may read is refused (chmod 600 it, or --new-token).
  --recordings DIR: SigMF recordings (default out/recordings); --adapters DIR: the UI's distillations
  (default out/adapters); --provider cpu|cuda|webgpu|dml|coreml (falls back to cpu).
  --host other than 127.0.0.1/::1/localhost exposes the radio and files to the network: only behind a tunnel.`;

/** `dekag generate` */
export const GENERATE_HELP = `dekag generate --role cloud|edge --prompt TEXT --out FILE.png [options]
  --seed N          initial-noise seed (default 0)
  --steps N         DDIM steps (default: the manifest's pipeline.sampler, ${DEFAULT_STEPS} for the shipped models)
  --guidance G      classifier-free guidance scale (default: likewise, ${DEFAULT_GUIDANCE} for the shipped models)
  --adapter FILE    a MAKD adapter (.dkga, from dekag distill) for the edge-GAI (--role edge only)
  --provider P      cpu | cuda | webgpu | dml | coreml (falls back to cpu; --json says which ran)
  --models DIR      models folder (default: the shipped models/)
  --json            print a JSON summary`;

/** `dekag distill` */
export const DISTILL_HELP = `dekag distill --subject TEXT --out FILE.dkga [options]
  --subject TEXT    what to align: attribute:value (shape:star, texture:striped, colour:purple,
                    shape:heart, background:snow), several joined by commas, or a prompt
  --mode M          makd (LoRA + metaword, default) | lora | metaword (the ablations)
  --steps N         training steps (default 1200, 16 samples each)
  --rank R          LoRA rank of the attention projections (default 16)
  --conv-rank C     LoCon rank of the convolutions (default 8; 0: attention only)
  --lora-dtype T    float16 (default) | float32: how the file stores the low-rank matrices (float16: half the
                    bytes, ~239 KB instead of ~477 KB at the default ranks)
  --device D        cpu (default) | cuda
  --seed N          training seed (default 1)
  --quick           a smoke run: a tiny distillation set and a few steps
  --models DIR      models folder (default: the shipped models/)
  --json            print the trainer's summary as JSON
  Python: $DEKAG_PYTHON, else /usr/bin/python3, else python3 on PATH; it needs PyTorch and numpy.`;

/** `dekag eval` */
export const EVAL_HELP = `dekag eval --image FILE.png --prompt TEXT [--reference FILE.png] [--json]
  image-text score (cosine of evaluator embeddings), image-image score against the reference,
  consistency (their sum, the DINO + CLIP analogue) and the attribute predictions`;

/** `dekag sigmf info|repair` */
export const SIGMF_HELP = `dekag sigmf info FILE [--json] [--no-checksum]
    FILE is BASE, BASE.sigmf-meta, BASE.sigmf-data or BASE.sigmf (archive). Validates the meta against the
    SigMF 1.2 core namespace (built in), verifies core:sha512 (sha512_ok: true, false, or null without one).
dekag sigmf repair BASE [--dry-run] [--json] [--rehash] [--datatype TYPE] [--sample-rate HZ]
    Recovers a recording whose writer stopped early: trims a partial last sample, drops segments past the
    data, adds core:sha512, marks it finalized. --datatype/--sample-rate rebuild a lost meta.`;

/** `dekag modem tx|rx` */
export const MODEM_HELP = `usage:
  dekag modem tx (--payload FILE | --symbols FILE) --out FILE.cf32|.ci8|.cu8
                 [--modulation qpsk|16qam|64qam|256qam] [--rate 1/2|2/3|3/4|5/6] [--frame-bytes N]
                 [--session N] [--seq N] [--frame-type N] [--gap SAMPLES] [--scale X] [common options]
  dekag modem rx --in FILE.cf32|.ci8|.cu8 [--json] [--payload-out DIR] [--equalizer zf|mmse]
                 [--keep-bad] [--scale X] [common options]
common options: [--sample-rate HZ] [--fft N] [--cp N] [--format cf32|ci8|cu8]
  --scale: 8-bit code units per 1.0 of float amplitude (default 127.5 for ci8/cu8 output: tx
           backs the signal off by 12 dB so OFDM peaks rarely clip)`;

/** `dekag devices` */
export const DEVICES_HELP = `dekag devices [--json] [--rtl-tcp HOST:PORT]... [--pluto HOST]... [--config FILE.json]
    Lists radios: loopback (always), USB radios (HackRF 1d50:6089, RTL-SDR 0bda:2838/2832, Pluto 0456:b673),
    and network radios given here or in FILE.json ({"network": [{"driver": "rtl_tcp", "host": "...", "port": 1234}]}).
    Open one with --device ID in 'dekag record' and 'dekag rtl-tcp serve'.`;

/** `dekag record` */
export const RECORD_HELP = `dekag record --device NAME --freq HZ --rate HZ --seconds S --out BASE
             [--format ci8|cu8|cf32_le] [--gain NAME=DB]... [--overwrite] [--json]
             [--frames N] [--snr DB]   (loopback only: frames sent during the recording, channel SNR)
    Records from a radio (see 'dekag devices'; default loopback) into BASE.sigmf-meta + BASE.sigmf-data,
    annotating each decoded modem frame (sequence, SNR, CRC, rate). --format defaults to the radio's own.
    If the radio goes away mid-recording, the recording is finalized and the command exits 1.`;

/** `dekag rtl-tcp serve` */
export const RTL_TCP_HELP = `dekag rtl-tcp serve --device NAME [--host 127.0.0.1] [--port 1234] [--freq HZ] [--rate HZ]
             [--snr DB] (loopback) [--max-buffer BYTES] [--lossless]
    Serves a receive radio (see 'dekag devices'; default loopback) to rtl_tcp clients: GQRX, SDR++, GNU Radio
    ("rtl_tcp=127.0.0.1:1234"). Binds 127.0.0.1 unless --host says otherwise. A slow client loses whole
    blocks (counted) unless --lossless, which makes the radio wait (for recordings).`;

/** `dekag gnss` */
export const GNSS_HELP = `dekag gnss --port PATH [--baud 9600] [--seconds 10] [--json]
    Reads NMEA (GGA, RMC) from a GNSS receiver and prints each fix and, at the end, the counts of good,
    bad-checksum and garbage lines. Exit 0 when a fix was seen, 1 otherwise.`;

/** `dekag attenuator` */
export const ATTENUATOR_HELP = `dekag attenuator --port PATH (--set DB | --get | --sweep FROM:TO:STEP) [--dwell-ms 1000]
                 [--protocol FILE.json] [--baud N] [--json]
    Drives a programmable step attenuator over a line-based serial protocol (default: 'ATT {db:.2f}' /
    'ATT?' -> 'ATT x', 'OK', 'ERR'). --protocol reads templates, reply regexes, range, step, settle and
    timeout from JSON (docs/radios-pluto-accessories.md). --sweep holds each step for --dwell-ms.`;

/** `dekag bench generate` */
export const BENCH_GENERATE_HELP = `dekag bench generate [--quick] [--json] [--out FILE.json] [--picture FILE.png]`;

/** `dekag bench phy` */
export const BENCH_PHY_HELP = `dekag bench phy [--quick] [--json] [--plot FILE.svg]
dekag bench phy --peer liquid [--peer-samples N] [--peer-fec v27|h84|none] [--liquid-prefix DIR] [--quick] [--json]
  --peer liquid     only the peer comparison: our receiver and liquid-dsp's ofdmflexframesync (compiled from
                    scripts/bench/liquid-peer.c with gcc; needs libliquid-dev), each on a cf32 file of the same
                    recipe in its own waveform; Msps per CPU-second of the receive loop and the ratio,
                    and of our whole \`dekag modem rx\` command (a new process, start-up included)
  --peer-samples N  samples per file (default 20 000 000; --quick 2 000 000)
  --peer-fec F      liquid's code: v27 (K=7 soft Viterbi, needs liquid built with libfec; the default when
                    present), h84 (Hamming(8,4) r1/2, the fallback), none
  --liquid-prefix DIR  liquid installed under DIR (DIR/include/liquid/liquid.h, DIR/lib)`;

/** `dekag bench cala` */
export const BENCH_CALA_HELP = `dekag bench cala [--quick] [--json] [--out FILE.json] [--picture FILE.svg] [--images N]
  JSCC + CALA vs no adaptation, grouped, per-condition and digital: PSNR vs SNR per rate, on the paper's
  channel (from models/cala/results.json) and measured through the simulated radio with the measured SNR`;

/** `dekag bench mcs` */
export const BENCH_MCS_HELP = `dekag bench mcs [--frames N] [--quick] [--json] [--out FILE.json]
  calibrates the digital latent's MCS table: frames of each MCS and frame size (16..256 symbols) through the
  simulated radio (flat and EPA) at -5..35 dB; delivery fitted with a logistic in the SNR the receiver
  measured on the frame before (what the edge is fed back); node scripts/mcs-table.mjs writes the fits into
  the table
  --frames N   frames per MCS, frame size, channel and SNR (default 60)`;

/** `dekag bench makd` */
export const BENCH_MAKD_HELP = `dekag bench makd [--quick] [--subjects "a;b;c"] [--seeds 1,2,3] [--train] [--adapters DIR] [--json] [--out FILE.json]
  every figure per subject and as the mean over subjects, for none / lora / metaword / makd: the mean over the
  adapters' training seeds, <figure>_seed_spread (sample std over seeds) and <figure>_per_seed; gap_closed_ci95 is
  a 95 % paired bootstrap over prompts (2000 resamples); the 'aligned' prompts give aligned_consistency_drop
  --subjects LIST   ';'-separated subjects (default: every misaligned subject in models/vocab.json)
  --seeds LIST      ','-separated training seeds (default: 1 and every DIR/seedN holding all the adapters;
                    with --train: 1,2,3)
  --adapters DIR    where <subject>.<mode>.dkga adapters are read: seed 1 in DIR, seed N in DIR/seedN
                    (default models/adapters, the shipped ones)
  --train           train the adapters first (dekag distill for each seed, subject and mode) into --adapters
  --train-steps N   training steps when --train (default: the trainer's; --quick: 6)
  --quick           a few prompts per subject: a smoke run for CI, not a measurement`;

/** `dekag bench usb` */
export const BENCH_USB_HELP = `dekag bench usb [--seconds S] [--in-flight N] [--latency-ms MS] [--clock virtual|real] [--quick] [--json]
  host-side cost of the HackRF/RTL-SDR drivers (sample conversion, per-transfer overhead) against the fake devices,
  then HackRF RX and TX sustained through the fake's streaming model (the radio's sample clock, its 32 KiB buffer,
  per-transfer latency) with N transfers in flight (default 4) and with 1 (what usb 3.x allows): rate, dropped
  transfers, lost samples, pattern errors, transfers in flight
  --seconds S           radio time per run (default 30; --quick: 3)
  --in-flight N         transfers in flight asked of the driver (default 4)
  --latency-ms MS       from a transfer's last sample to its completion on the host (default 1)
  --transfer-bytes B    bytes per transfer (default 262144, libhackrf's)
  --rate HZ             sample rate (default 20e6)
  --clock virtual|real  virtual (default): idle waits skipped, the host's work costs its real time; real: wall clock`;

export const BENCH_UI_HELP = `dekag bench ui [--sessions N] [--images N] [--chromium PATH] [--models DIR] [--json] [--out FILE.json]
  how responsive the app stays while sessions run: the engine and browser mode's server in this process, a headless
  Chromium (playwright-core, a dev dependency) on the app; connects the loopback, records it to SigMF and runs N
  sessions of M images at 20 dB through the UI and reports the page's main-thread long tasks (> 50 ms) between Start and 'done': count,
  longest, blocking time past 50 ms, and the charts' redraws (target: no task over 100 ms, docs/app.md)
  --sessions N      sessions, one after another (default 3)
  --images N        images per session (default 4)
  --chromium PATH   the browser (default /usr/bin/chromium; Debian package chromium)
  --models DIR      models folder (default: the shipped models)
  --out FILE.json   also write the report there`;
