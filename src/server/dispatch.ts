/**
 * The engine's door: turns one wire request (JSON from a WebSocket or from Electron's IPC) into a
 * validated call on the engine and a response message. Used by browser mode and by the Electron utility
 * process alike, so both enforce the same checks. Unknown methods and bad parameters never reach the
 * engine; engine errors come back as {code, message} (never a stack trace: the UI shows the message).
 */
import { DekagError } from '../util/errors.js';
import { MAX_PROMPT_CHARS, validateRequest, type DekagApi, type ResponseMessage } from './api.js';

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

/**
 * The id of a request too large to parse, read from its start ({"id":N,...}, as the clients write it), so
 * the refusal reaches the call that sent it; -1 when it is not there.
 */
function leadingId(text: string): number {
  const m = /^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]/.exec(text.slice(0, 64));
  return m ? Number(m[1]) : -1;
}

/**
 * Parses one raw text message; returns the response to send (a malformed message gets id -1). Every
 * message gets an answer: an oversized or malformed one is refused by a reply, never by closing the
 * connection, so one bad request does not cost the page its link to the engine.
 */
export async function dispatchText(engine: DekagApi, text: string): Promise<ResponseMessage> {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_REQUEST_BYTES) {
    return { id: leadingId(text), error: { code: 'E_TOO_LARGE', message: `request of ${bytes} bytes; at most ${MAX_REQUEST_BYTES} (a prompt may have at most ${MAX_PROMPT_CHARS} characters)` } };
  }
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
