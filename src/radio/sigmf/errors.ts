/**
 * Typed errors of the SigMF writer, reader and repair tool. They extend the project's DekagError so the
 * CLI prints them as one line. Each message says what was wrong and, where there is one, what to do.
 */
import { DekagError } from '../../util/errors.js';

/** A file that is not a readable SigMF recording (bad JSON, unknown datatype, missing data, bad tar). */
export class SigmfFormatError extends DekagError {
  constructor(message: string) {
    super(message, 'E_SIGMF_FORMAT');
  }
}

/** An argument given to the writer, reader or replay source is out of range or inconsistent. */
export class SigmfArgumentError extends DekagError {
  constructor(message: string) {
    super(message, 'E_SIGMF_ARGUMENT');
  }
}

/** An operation on a writer that has been finalized, closed, or has failed. */
export class SigmfStateError extends DekagError {
  constructor(message: string) {
    super(message, 'E_SIGMF_STATE');
  }
}

/**
 * Writing to disk failed (a full disk is `errno === 'ENOSPC'`). What was written before the failure is
 * still a readable recording: `samplesOnDisk` whole samples, described by the last meta that was renamed
 * into place. `dekag sigmf repair BASE` makes the meta match the data exactly.
 */
export class SigmfWriteError extends DekagError {
  constructor(
    message: string,
    readonly errno: string | undefined,
    readonly samplesOnDisk: number,
    override readonly cause?: unknown,
  ) {
    super(message, 'E_SIGMF_WRITE');
  }

  /** True when the failure was a full disk (or a full quota). */
  get diskFull(): boolean {
    return this.errno === 'ENOSPC' || this.errno === 'EDQUOT';
  }
}

/** The errno code of a Node fs error, if it has one. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
