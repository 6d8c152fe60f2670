/**
 * The session roles' help texts (`dekag cloud | edge | user`), apart from help.ts because they name the
 * radios session/radio.ts opens, and importing it loads the device registry.
 */
import { radioNamesHelp } from '../session/radio.js';

/** The radios registered when help is asked for (built-in drivers and any plugged in before). */
const RADIO_NAMES_HELP = radioNamesHelp();
import { EXIT_CODES_HELP } from './exit.js';

const KEY_HELP = `--key-file FILE: the session key every role must hold (default $DEKAG_KEY_FILE or ~/.dekag/session.key;
  made, mode 0600, by the first role that needs it; copy it to the other machines)`;

export const CLOUD_HELP = `dekag cloud --listen [HOST:]PORT [--prompts FILE | --prompt TEXT ...] [--out DIR] [--key-file FILE]
  the cloud role: reference images, MAKD adapters, the session record (DIR/session.jsonl, summary.json,
  report.html; default out/session): every prompt ends there as received, lost or failed, with the reason;
  waits up to --wait-s (default 120) for an edge, at the start and after an edge went away;
  --result-timeout-s S (default 60) per prompt
  ${KEY_HELP}
  ${EXIT_CODES_HELP}`;
export const EDGE_HELP = `dekag edge --cloud HOST:PORT --radio NAME [--listen-feedback [HOST:]PORT] [--serve-rx [HOST:]PORT] [--key-file FILE]
  the edge role: edge-GAI with the adapter, JSCC with CALA, the rate policy, radio TX on NAME (${RADIO_NAMES_HELP});
  --snr DB (loopback channel, default 20), --rate R (fixed), --sample-rate HZ (default 250000),
  --serve-rx [HOST:]PORT serves the loopback's receive side as rtl_tcp for a user in another process,
  --listen-feedback [HOST:]PORT (default 127.0.0.1:7101) where the user connects (one user at a time; a
  user that dropped may come back); before its first frame the edge waits up to --wait-user-s (default 30)
  for a user, later a missing user only loses frames; --connect-timeout-s S (default 30) to reach the cloud;
  exits when the cloud ends the session or goes away
  ${KEY_HELP}
  ${EXIT_CODES_HELP}`;
export const USER_HELP = `dekag user --radio NAME --edge HOST:PORT [--record BASE] [--key-file FILE]
  the user role: radio RX (${RADIO_NAMES_HELP}), JSCC decoding with CALA from the measured SNR, feedback to
  the edge; --record BASE writes what it received as SigMF with an annotation per frame;
  --connect-timeout-s S (default 30) to reach the edge
  ${KEY_HELP}
  ${EXIT_CODES_HELP}`;
