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

/** The link to the engine, as the page shows it. */
export type LinkState = { state: 'open'; reconnected: boolean } | { state: 'closed'; attempt: number; retryAtMs: number };

/** The bridge, plus what the page's "disconnected" banner needs. */
export interface ReconnectingBridge extends DekagBridge {
  /** Tries to reconnect now (the banner's Reconnect button) instead of at the next scheduled attempt. */
  reconnect(): void;
}

/** Waits between reconnect attempts: 0.5 s, 1 s, 2 s, 4 s, then every 8 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(8000, 500 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Connects to the engine and keeps connecting: when the socket closes (the server stopped, the machine
 * slept), pending calls fail at once, `onState` reports 'closed' with the time of the next attempt, and
 * the client retries with growing waits; a restarted `dekag serve` (same port and token: the token is
 * kept in the user's config) is found again and `onState` reports 'open' with reconnected = true, when
 * the page reloads the engine's state. Resolves once the first connection is open.
 */
export function connectWebSocket(pageUrl: string, onState: (state: LinkState) => void): Promise<ReconnectingBridge> {
  const url = new URL('ws', pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: EngineEvent) => void>();
  let nextId = 1;
  let ws: WebSocket | undefined;
  let everOpen = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstOpen: (b: ReconnectingBridge) => void = () => undefined;

  const onMessage = (m: MessageEvent): void => {
    let msg: ResponseMessage | { event: EngineEvent };
    try {
      msg = JSON.parse(String(m.data)) as ResponseMessage | { event: EngineEvent };
    } catch {
      return;
    }
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if ('error' in msg) p.reject(new EngineCallError(msg.error.code, msg.error.message));
    else p.resolve(msg.result);
  };

  const open = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
    const sock = new WebSocket(url.href);
    ws = sock;
    sock.addEventListener('message', onMessage);
    sock.addEventListener('open', () => {
      if (ws !== sock) return;
      attempt = 0;
      const reconnected = everOpen;
      everOpen = true;
      onState({ state: 'open', reconnected });
      firstOpen(bridge);
    });
    sock.addEventListener('close', () => {
      if (ws !== sock) return;
      for (const p of pending.values()) p.reject(new EngineCallError('E_CLOSED', 'the connection to the engine closed'));
      pending.clear();
      attempt++;
      const wait = reconnectDelayMs(attempt);
      onState({ state: 'closed', attempt, retryAtMs: Date.now() + wait });
      timer = setTimeout(open, wait);
    });
  };

  const call = (method: ApiMethod, params?: unknown): Promise<never> =>
    new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) return reject(new EngineCallError('E_CLOSED', 'not connected to the engine'));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify(params === undefined ? { id, method } : { id, method, params }));
    });

  // Written out method by method (not a Proxy) so the compiler checks it is exactly DekagApi.
  const api: DekagApi = {
    info: () => call('info'),
    state: () => call('state'),
    listDevices: () => call('listDevices'),
    connectDevice: (p) => call('connectDevice', p),
    addNetworkRadio: (p) => call('addNetworkRadio', p),
    disconnectDevice: () => call('disconnectDevice'),
    connectAttenuator: (p) => call('connectAttenuator', p),
    disconnectAttenuator: () => call('disconnectAttenuator'),
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
    listSessions: () => call('listSessions'),
    sessionHistory: (p) => call('sessionHistory', p),
    exportSession: (p) => call('exportSession', p),
  };
  const bridge: ReconnectingBridge = {
    ...api,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    reconnect: open,
  };
  return new Promise((resolve) => {
    firstOpen = (b) => {
      firstOpen = () => undefined;
      resolve(b);
    };
    open();
  });
}
