/**
 * The session commands' exit codes (`dekag cloud | edge | user`; main.ts maps errors onto the same table).
 * 2 is for usage errors only; every code except 1 and 2 comes after the session record was written.
 */
export const EXIT = {
  /** The session did what was asked: every prompt came back with a result, every peer stayed. */
  OK: 0,
  /** An error stopped the command (models, radio, files, a bug). */
  ERROR: 1,
  /** Bad arguments, prompts or key file: nothing ran. */
  USAGE: 2,
  /** A peer was unreachable, refused us (wrong key, already taken), or went away during the session. */
  PEER: 3,
  /** Every peer stayed, but prompts failed (the edge's or the cloud's error) or no image was received. */
  INCOMPLETE: 4,
  /** SIGINT or SIGTERM (the cloud still writes the record, summary and report). */
  INTERRUPTED: 130,
} as const;

export const EXIT_CODES_HELP = `exit codes: 0 the session did what was asked; 1 an error (models, radio, files); 2 usage (arguments,
  prompts, key file); 3 a peer was unreachable, refused this role or went away; 4 prompts failed or nothing
  was received; 130 interrupted. The cloud writes session.jsonl, summary.json and report.html on every
  exit but 1 and 2`;

/** Error codes of the typed errors that mean "a peer": exit code 3. */
export const PEER_ERROR_CODES: readonly string[] = ['E_PEER', 'E_LINK_CLOSED', 'E_LINK_PROTOCOL'];
