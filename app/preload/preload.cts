/**
 * The preload: the only door between the window and the engine. It runs sandboxed, with context
 * isolation, and hands the page exactly the typed API of src/server/api.ts as `window.dekag`: one function
 * per call (each a single `ipcRenderer.invoke` on one channel) and `onEvent`. It never exposes
 * ipcRenderer, Node or Electron objects themselves, and passes only plain data across.
 * CommonJS (.cts -> .cjs) because sandboxed preloads cannot be ES modules.
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { ApiMethod, DekagApi, DekagBridge, EngineEvent, ResponseMessage } from '../../src/server/api.js';

class EngineCallError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

async function call(method: ApiMethod, params?: unknown): Promise<never> {
  const res = (await ipcRenderer.invoke('dekag:call', method, params)) as ResponseMessage;
  if ('error' in res) throw new EngineCallError(res.error.code, res.error.message);
  return res.result as never;
}

// Written out call by call so the compiler checks that this is exactly DekagApi, nothing more.
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

const bridge: DekagBridge = {
  ...api,
  onEvent(listener: (event: EngineEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('onEvent takes a function');
    const wrapped = (_e: Electron.IpcRendererEvent, event: EngineEvent): void => listener(event);
    ipcRenderer.on('dekag:event', wrapped);
    return () => {
      ipcRenderer.removeListener('dekag:event', wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('dekag', bridge);
