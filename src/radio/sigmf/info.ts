/** A summary of a recording, as `dekag sigmf info --json` prints it (snake_case keys, like SigMF's own). */
import { SigmfRecording, type OpenSigmfOptions } from './reader.js';
import type { SigmfAnnotation, SigmfCapture, SigmfGlobal } from './meta.js';

export interface SigmfInfo {
  path: string;
  kind: 'files' | 'archive';
  meta_path: string;
  data_path: string | null;
  datatype: string;
  num_channels: number;
  sample_rate: number | null;
  sample_count: number;
  duration_s: number | null;
  data_bytes: number;
  partial_bytes: number;
  /** dekag:finalized when the recording has it; null for recordings made elsewhere. */
  finalized: boolean | null;
  global: SigmfGlobal;
  captures: SigmfCapture[];
  annotations_count: number;
  annotations: SigmfAnnotation[];
  /** true/false: checksum matches or not; null: no core:sha512, no data, or not checked. */
  sha512_ok: boolean | null;
  /** Whether the meta is valid SigMF 1.2 core metadata (the built-in validator, validate.ts); null only when not validated. */
  schema_valid: boolean | null;
  schema_errors: string[];
  /** What validated (validate.ts's META_VALIDATOR); null when not validated. */
  schema_validator: string | null;
  /** Consistency problems beyond validity (undeclared namespaces, indices past the data, a partial sample). */
  problems: string[];
  unreadable: string | null;
}

export async function sigmfInfo(path: string, opts: OpenSigmfOptions & { checksum?: boolean } = {}): Promise<SigmfInfo> {
  const rec = await SigmfRecording.open(path, opts);
  try {
    return {
      path,
      kind: rec.location.kind,
      meta_path: rec.metaPath,
      data_path: rec.dataPath,
      datatype: rec.datatype.name,
      num_channels: rec.numChannels,
      sample_rate: rec.sampleRateHz ?? null,
      sample_count: rec.sampleCount,
      duration_s: rec.durationS ?? null,
      data_bytes: rec.dataBytes,
      partial_bytes: rec.partialBytes,
      finalized: rec.finalized ?? null,
      global: rec.global,
      captures: rec.captures,
      annotations_count: rec.annotations.length,
      annotations: rec.annotations,
      sha512_ok: opts.checksum === false ? null : await rec.verifyChecksum(),
      schema_valid: rec.validation.valid,
      schema_errors: rec.validation.valid === null ? [] : rec.validation.errors,
      schema_validator: rec.validation.validator,
      problems: rec.validation.valid === null ? [...rec.validation.errors, ...rec.problems] : rec.problems,
      unreadable: rec.unreadableReason ?? null,
    };
  } finally {
    await rec.close();
  }
}
