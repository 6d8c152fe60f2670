/**
 * `dekag record`: receive from a radio into a SigMF recording (BASE.sigmf-meta + BASE.sigmf-data), with
 * an annotation for every modem frame the receiver decodes on the way.
 *
 * On the loopback a transmitter sends a few modem frames during the recording, so the recording has
 * content. A radio that goes away mid-recording (unplugged, rtl_tcp server gone) ends the recording
 * cleanly: what was received is finalized (valid meta, core:sha512), the command says what happened and
 * exits 1. Ctrl-C finalizes too and exits 130.
 */
import { UsageError } from '../util/errors.js';
import { parse, requireString } from './options.js';
import { loadDriverModules, openDevice } from '../radio/devices/registry.js';
import { DeviceGoneError, type SdrDevice } from '../radio/devices/types.js';
import type { FinalizeResult } from '../radio/sigmf/writer.js';
import { RxRecorder } from '../radio/sigmf/rx-recorder.js';
import { OfdmModulator } from '../radio/phy/transmitter.js';
import { StreamReceiver } from '../radio/phy/receiver.js';

export { RECORD_HELP } from './help.js';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

export interface RecordCliOptions {
  out?: Out;
  /** Stops the recording early (as Ctrl-C does); the CLI listens for SIGINT itself when not given. */
  signal?: AbortSignal;
}

const FORMATS = ['ci8', 'cu8', 'cf32_le'] as const;

function positiveNumber(v: unknown, name: string): number {
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${String(v)}'`);
  return n;
}

export function parseGains(list: string[] | undefined): Record<string, number> {
  const gains: Record<string, number> = {};
  for (const g of list ?? []) {
    const m = /^([A-Za-z_][\w-]*)=(-?\d+(?:\.\d+)?)$/.exec(g);
    if (!m) throw new UsageError(`--gain '${g}' is not NAME=DB (e.g. --gain lna=16)`);
    gains[m[1]!] = Number(m[2]);
  }
  return gains;
}

export async function runRecordCli(argv: string[], opts: RecordCliOptions = {}): Promise<number> {
  const out = opts.out ?? defaultOut;
  const { values } = parse(argv, {
    device: { type: 'string', default: 'loopback' },
    freq: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    gain: { type: 'string', multiple: true },
    overwrite: { type: 'boolean' },
    json: { type: 'boolean' },
    frames: { type: 'string' },
    snr: { type: 'string' },
  });
  const deviceId = values.device as string;
  const freqHz = positiveNumber(values.freq, 'freq');
  const sampleRateHz = positiveNumber(values.rate, 'rate');
  const seconds = positiveNumber(values.seconds, 'seconds');
  const base = requireString(values, 'out').replace(/\.sigmf-(meta|data)$/, '');
  const format = values.format as string | undefined;
  if (format !== undefined && !(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
  }
  const gainsDb = parseGains(values.gain as string[] | undefined);
  const frames = values.frames === undefined ? 5 : Number(values.frames);
  if (!Number.isInteger(frames) || frames < 0 || frames > 10000) throw new UsageError(`--frames must be an integer 0..10000, got '${String(values.frames)}'`);
  const snrDb = values.snr === undefined ? 25 : Number(values.snr);
  if (!Number.isFinite(snrDb)) throw new UsageError(`--snr must be a number of dB, got '${String(values.snr)}'`);
  const totalSamples = Math.round(seconds * sampleRateHz);

  for (const p of await loadDriverModules()) out.stderr(`dekag record: warning: ${p}\n`);
  const device = await openDevice(deviceId, { loopback: { pace: 'realtime', channel: { snrDb } } });
  try {
    await device.configure({ freqHz, sampleRateHz, gainsDb });
    const datatype = format ?? device.capabilities.nativeFormat;
    const recorder = await RxRecorder.open(base, {
      datatype,
      nativeFormat: device.capabilities.nativeFormat,
      streamStart: 0,
      maxSamples: totalSamples,
      sampleRateHz: device.config.sampleRateHz,
      freqHz: device.config.freqHz,
      hardware: device.info.label,
      description: `dekag record from ${device.info.id}`,
      overwrite: values.overwrite === true,
    });
    const result = await record(device, recorder, { totalSamples, frames, signal: opts.signal });
    const fin = result.final;
    const summary = {
      device: device.info.id,
      meta: fin.metaPath,
      data: fin.dataPath,
      datatype,
      samples: fin.sampleCount,
      seconds: fin.sampleCount / device.config.sampleRateHz,
      sha512: fin.sha512,
      frames_sent: result.framesSent,
      frames_decoded: result.framesDecoded,
      overflows: device.stats().overflows,
      lost_samples: result.lostSamples,
      ended: result.gone ? 'radio gone' : result.interrupted ? 'interrupted' : 'complete',
      ...(result.gone ? { reason: result.gone.message } : {}),
    };
    if (values.json) out.stdout(JSON.stringify(summary, null, 2) + '\n');
    else {
      out.stdout(
        `recorded ${summary.samples} samples (${summary.seconds.toFixed(3)} s) of ${summary.device} as ${datatype}\n` +
          `  ${fin.metaPath}\n  ${fin.dataPath}\n  sha512 ${fin.sha512.slice(0, 16)}...\n` +
          `  frames decoded ${result.framesDecoded}${device.info.driver === 'loopback' ? ` of ${result.framesSent} sent` : ''}, overflows ${summary.overflows}\n`,
      );
    }
    if (result.gone) {
      out.stderr(
        `dekag record: ${result.gone.message} after ${fin.sampleCount} samples; the recording was finalized and is valid ` +
          `(${fin.metaPath}, core:sha512 of the ${fin.dataBytes} bytes written)\n`,
      );
      return 1;
    }
    return result.interrupted ? 130 : 0;
  } finally {
    await device.close();
  }
}

interface RecordResult {
  final: FinalizeResult;
  framesSent: number;
  framesDecoded: number;
  lostSamples: number;
  gone: DeviceGoneError | undefined;
  interrupted: boolean;
}

async function record(
  device: SdrDevice,
  recorder: RxRecorder,
  o: { totalSamples: number; frames: number; signal: AbortSignal | undefined },
): Promise<RecordResult> {
  const rate = device.config.sampleRateHz;
  const receiver = new StreamReceiver({ params: { sampleRateHz: rate } });
  const blockSamples = Math.max(256, Math.min(16384, Math.round(rate / 50)));
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  if (o.signal) o.signal.addEventListener('abort', onSigint, { once: true });
  else process.once('SIGINT', onSigint);
  const rx = device.startRx({ blockSamples, queueBlocks: 64, signal: stop.signal });
  // Test frames only where TX comes back on this radio's RX (the loopback's simulated channel).
  const transmitter = device.channelSimulator && o.frames > 0 ? transmitFrames(device, o.frames, o.totalSamples, rate) : undefined;
  let gone: DeviceGoneError | undefined;
  try {
    for await (const block of rx) {
      // The recorder marks the radio's gaps as discontinuities; the receiver sees exactly the samples
      // written, so its sample indices are the recording's.
      const n = await recorder.write(block, device.config);
      for (const f of receiver.push(n === block.samples ? block.iq : block.iq.subarray(0, 2 * n))) recorder.annotateFrame(f);
      if (recorder.full) break;
    }
  } catch (e) {
    if (!(e instanceof DeviceGoneError)) {
      await recorder.close();
      throw e;
    }
    gone = e;
  } finally {
    process.off('SIGINT', onSigint);
    await rx.stop();
  }
  for (const f of receiver.flush()) recorder.annotateFrame(f);
  const framesSent = transmitter ? await transmitter.stop(recorder.samples) : 0;
  const summary = await recorder.finish();
  if (!summary.final) throw summary.error ?? new Error(`the recording ${summary.path} was not finalized`);
  return { final: summary.final, framesSent, framesDecoded: summary.frames, lostSamples: summary.droppedSamples, gone, interrupted: stop.signal.aborted && !gone };
}

/**
 * The loopback's transmitter during a recording: `count` frames spread over the recording (one per
 * period, each after a gap of silence). The whole stream is modulated before the first write and handed to
 * the radio in one write, so a busy CPU cannot let the transmitter run dry between frames and push the
 * later frames past the end of the recording (seen in CI: only frame 0 of 3 was recorded).
 */
function transmitFrames(device: SdrDevice, count: number, totalSamples: number, rate: number): { stop: (samplesRecorded: number) => Promise<number> } {
  const mod = new OfdmModulator({ sampleRateHz: rate });
  const period = Math.floor(totalSamples / (count + 1));
  const frames: Float32Array[] = [];
  const frameEnds: number[] = [];
  let length = 0;
  for (let seq = 0; seq < count; seq++) {
    const frame = mod.modulateBytes(new TextEncoder().encode(`dekag record test frame ${seq}`), { sequence: seq });
    const gap = Math.max(0, period - (frame.length >> 1));
    frames.push(new Float32Array(2 * gap), frame);
    length += 2 * gap + frame.length;
    frameEnds.push(length >> 1);
  }
  const stream = new Float32Array(length);
  let at = 0;
  for (const part of frames) {
    stream.set(part, at);
    at += part.length;
  }
  const tx = device.startTx();
  let stopped = false;
  const run = (async () => {
    await tx.write(stream);
    if (!stopped) await tx.end();
  })().catch(() => undefined); // a radio gone mid-write: the RX side reports it
  return {
    stop: async (samplesRecorded: number) => {
      stopped = true;
      await Promise.race([run, new Promise((r) => setTimeout(r, 50))]);
      // The stream starts with the recording, so a frame counts as sent when its last sample was recorded.
      return frameEnds.filter((end) => end <= samplesRecorded).length;
    },
  };
}
