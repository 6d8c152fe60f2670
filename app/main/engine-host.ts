/**
 * The engine's process in the desktop app: an Electron utility process (a Node process without a window).
 * Model inference, the radio and the SigMF writer run here, so neither the window nor the main process
 * (which handles input and menus) ever waits for them. It speaks the same JSON messages as browser mode's
 * WebSocket: requests {id, method, params} in, responses {id, result|error} and events {event} out, and
 * validates every request itself (dispatch.ts) whatever the main process already checked.
 */
import { join } from 'node:path';
import { createEngine } from '../../src/server/backends.js';
import { configDir } from '../../src/server/token.js';
import { dispatch } from '../../src/server/dispatch.js';
import type { RequestMessage } from '../../src/server/api.js';

const port = process.parentPort;
if (!port) {
  process.stderr.write('engine-host runs as an Electron utility process (utilityProcess.fork), not on its own\n');
  process.exit(2);
}

const engine = createEngine({
  recordingsDir: process.env['DEKAG_RECORDINGS_DIR'],
  userAdaptersDir: process.env['DEKAG_USER_ADAPTERS_DIR'],
  provider: process.env['DEKAG_PROVIDER'],
  // the network radios the user adds, kept in the user's DeKA-g config folder as in browser mode
  networkRadiosFile: join(configDir(), 'network-radios.json'),
});
engine.subscribe((event) => port.postMessage({ event }));

port.on('message', (e: Electron.MessageEvent) => {
  const msg = e.data as Partial<RequestMessage>;
  const id = typeof msg?.id === 'number' ? msg.id : -1;
  void dispatch(engine, id, msg?.method, msg?.params).then((res) => port.postMessage(res));
});

process.on('SIGTERM', () => {
  void engine.dispose().finally(() => process.exit(0));
});
