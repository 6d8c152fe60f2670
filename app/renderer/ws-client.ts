/**
 * Browser mode's bridge: the same interface as Electron's preload (`window.dekag`), over the engine's
 * WebSocket. Requests are {id, method, params}; answers {id, result} or {id, error}; events {event}.
 * The socket URL is derived from the page's own URL, so the access token in the path travels with it.
 */
import type { ApiMethod, DekagApi, DekagBridge, EngineEvent, ResponseMessage } from '../../src/server/api.js';

export class EngineCallError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function connectWebSocket(pageUrl: string, onState: (state: 'open' | 'closed') => void): Promise<DekagBridge> {
  const url = new URL('ws', pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url.href);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: EngineEvent) => void>();
  let nextId = 1;

  ws.addEventListener('message', (m) => {
    const msg = JSON.parse(String(m.data)) as ResponseMessage | { event: EngineEvent };
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if ('error' in msg) p.reject(new EngineCallError(msg.error.code, msg.error.message));
    else p.resolve(msg.result);
  });
  ws.addEventListener('close', () => {
    onState('closed');
    for (const p of pending.values()) p.reject(new EngineCallError('E_CLOSED', 'the connection to the engine closed; reload the page'));
    pending.clear();
  });

  const call = (method: ApiMethod, params?: unknown): Promise<never> =>
    new Promise((resolve, reject) => {
      if (ws.readyState !== WebSocket.OPEN) return reject(new EngineCallError('E_CLOSED', 'not connected to the engine'));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify(params === undefined ? { id, method } : { id, method, params }));
    });

  // Written out method by method (not a Proxy) so the compiler checks it is exactly DekagApi.
  const api: DekagApi = {
    info: () => call('info'),
    listDevices: () => call('listDevices'),
    connectDevice: (p) => call('connectDevice', p),
    disconnectDevice: () => call('disconnectDevice'),
    configureDevice: (p) => call('configureDevice', p),
    setLoopbackChannel: (p) => call('setLoopbackChannel', p),
    vocabulary: () => call('vocabulary'),
    checkPrompt: (p) => call('checkPrompt', p),
    listAdapters: () => call('listAdapters'),
    distill: (p) => call('distill', p),
    startSession: (p) => call('startSession', p),
    stopSession: () => call('stopSession'),
    startRecording: (p) => call('startRecording', p),
    stopRecording: () => call('stopRecording'),
    listRecordings: () => call('listRecordings'),
    replayRecording: (p) => call('replayRecording', p),
  };
  const bridge: DekagBridge = {
    ...api,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => {
      onState('open');
      resolve(bridge);
    });
    ws.addEventListener('error', () => reject(new Error(`cannot reach the engine at ${url.origin}; is \`dekag serve\` still running?`)), { once: true });
  });
}
