/**
 * Reading JSON that came from a file or a peer: bounded in size and nesting, and with parse errors that
 * say where, never what. V8's own messages quote the text (`Unexpected token 'r', "root:x:0:0"... is not
 * valid JSON`), which would echo the first bytes of whatever file a caller was tricked into opening.
 */

/** Nesting deeper than any of the project's formats needs (SigMF meta, adapter header: under 10). */
export const MAX_JSON_DEPTH = 64;

export class JsonInputError extends Error {}

/** Where a JSON.parse error happened, without quoting the input: "at position 12" or "". */
export function jsonErrorWhere(e: unknown): string {
  const m = /position (\d+)/.exec(String((e as Error)?.message ?? ''));
  if (m) return `at position ${m[1]}`;
  if (/end of (JSON|data) input/i.test(String((e as Error)?.message ?? ''))) return 'at its end';
  return '';
}

/**
 * The deepest nesting of arrays and objects in `v`, counted without recursion; stops counting (and returns
 * limit + 1) once `limit` is passed, so a hostile document costs no more than the walk up to the limit.
 */
export function jsonDepth(v: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    const depth = d + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(x) ? x : Object.values(x)) if (typeof child === 'object' && child !== null) stack.push([child, depth]);
  }
  return deepest;
}

/**
 * JSON.parse of untrusted text: throws JsonInputError (message without any of the text) when it is not
 * JSON or nests deeper than `maxDepth`.
 */
export function parseUntrustedJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const where = jsonErrorWhere(e);
    throw new JsonInputError(`not valid JSON${where ? ` (${where})` : ''}`);
  }
  if (jsonDepth(v, maxDepth) > maxDepth) throw new JsonInputError(`nested more than ${maxDepth} levels deep`);
  return v;
}
