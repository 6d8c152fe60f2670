/**
 * The engine's door: turns one wire request (JSON from a WebSocket or from Electron's IPC) into a
 * validated call on the engine and a response message. Used by browser mode and by the Electron utility
 * process alike, so both enforce the same checks. Unknown methods and bad parameters never reach the
 * engine; engine errors come back as {code, message} (never a stack trace: the UI shows the message).
 */
import { DekagError } from '../util/errors.js';
import { validateRequest, type DekagApi, type ResponseMessage } from './api.js';

/** Most bytes one request may have (the largest legitimate one is a prompt list of a few KB). */
export const MAX_REQUEST_BYTES = 64 * 1024;

export async function dispatch(engine: DekagApi, id: number, method: unknown, params: unknown): Promise<ResponseMessage> {
  try {
    const req = validateRequest(method, params);
    const fn = engine[req.method] as (p: unknown) => Promise<unknown>;
    const result = await fn.call(engine, req.params);
    return { id, result: result ?? null };
  } catch (e) {
    if (e instanceof DekagError) return { id, error: { code: e.code, message: e.message } };
    const err = e as Error;
    return { id, error: { code: 'E_INTERNAL', message: `${err.name ?? 'Error'}: ${err.message ?? String(e)}` } };
  }
}

/** Parses one raw text message; returns the response to send (a malformed message gets id -1). */
export async function dispatchText(engine: DekagApi, text: string): Promise<ResponseMessage> {
  if (text.length > MAX_REQUEST_BYTES) return { id: -1, error: { code: 'E_API', message: `request of ${text.length} bytes; at most ${MAX_REQUEST_BYTES}` } };
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { id: -1, error: { code: 'E_API', message: 'request is not JSON' } };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { id: -1, error: { code: 'E_API', message: 'request must be an object {id, method, params}' } };
  const m = msg as Record<string, unknown>;
  const id = m['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return { id: -1, error: { code: 'E_API', message: 'request id must be a non-negative integer' } };
  for (const k of Object.keys(m)) {
    if (k !== 'id' && k !== 'method' && k !== 'params') return { id, error: { code: 'E_API', message: `request has an unknown field '${k}'; a request is {id, method, params}` } };
  }
  return dispatch(engine, id, m['method'], m['params']);
}
