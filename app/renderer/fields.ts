/**
 * Reading the page's form fields, as plain functions of strings (no DOM here, so the rules are tested under
 * Node: test/renderer/fields.test.ts). An empty number field is an error, never 0; every error names the
 * field in the words of its label; engine errors that name a request path (`startSession.images must be
 * ...`) are turned into the field's words too.
 */

export interface NumberSpec {
  /** The field's name as the page labels it, e.g. 'Frequency (MHz)'. */
  label: string;
  min?: number;
  max?: number;
  integer?: boolean;
}

export type FieldResult<T> = { ok: true; value: T } | { ok: false; error: string };

function range(spec: NumberSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return ` of at least ${spec.min}`;
  if (spec.max !== undefined) return ` of at most ${spec.max}`;
  return '';
}

/**
 * One number field. `raw` is the input's value; `badInput` is the browser's validity.badInput (a number
 * input reports '' both when empty and when it holds text that is not a number).
 */
export function parseNumberField(raw: string, spec: NumberSpec, badInput = false): FieldResult<number> {
  const kind = spec.integer ? 'a whole number' : 'a number';
  const text = raw.trim();
  if (badInput) return { ok: false, error: `${spec.label} is not ${kind}; enter ${kind}${range(spec)}` };
  if (text === '') return { ok: false, error: `${spec.label} is empty; enter ${kind}${range(spec)}` };
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, error: `${spec.label}: '${text.slice(0, 20)}' is not ${kind}; enter ${kind}${range(spec)}` };
  if (spec.integer && !Number.isInteger(value)) return { ok: false, error: `${spec.label} must be a whole number${range(spec)}, not ${value}` };
  if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
    return { ok: false, error: `${spec.label} must be${range(spec)}, not ${value}` };
  }
  return { ok: true, value };
}

export interface FieldInput<K extends string> {
  key: K;
  raw: string;
  badInput?: boolean;
  spec: NumberSpec;
}

/** Several number fields at once: every value, or every error (each with its field's key), in form order. */
export function readNumberFields<K extends string>(fields: FieldInput<K>[]): { ok: true; values: Record<K, number> } | { ok: false; errors: { key: K; error: string }[] } {
  const values = {} as Record<K, number>;
  const errors: { key: K; error: string }[] = [];
  for (const f of fields) {
    const r = parseNumberField(f.raw, f.spec, f.badInput ?? false);
    if (r.ok) values[f.key] = r.value;
    else errors.push({ key: f.key, error: r.error });
  }
  return errors.length ? { ok: false, errors } : { ok: true, values };
}

/** The prompt box: too long is refused before anything is sent (the engine's limit, from info().limits). */
export function checkPromptText(text: string, maxChars: number): FieldResult<string> {
  if (text.length > maxChars) {
    return { ok: false, error: `Prompt is ${text.length} characters long; at most ${maxChars} (one short description per line)` };
  }
  if (text.trim() === '') return { ok: false, error: "Prompt is empty; describe an image, e.g. 'a red star on grass'" };
  return { ok: true, value: text };
}

/**
 * An engine error that names a request path (`configureDevice.freqHz must be ...`) in the words of the
 * field the page shows for it; `labels` maps request paths to { key, label }. Other messages pass as they are.
 */
export function plainApiError<K extends string>(message: string, labels: Record<string, { key: K; label: string }>): { message: string; key?: K } {
  const m = /^([A-Za-z]+(?:\.[A-Za-z0-9_]+)+)\b(.*)$/s.exec(message);
  if (!m) return { message };
  const path = m[1]!;
  // the longest known prefix: startSession.snr.snrDb before startSession.snr
  const parts = path.split('.');
  for (let n = parts.length; n >= 2; n--) {
    const hit = Object.prototype.hasOwnProperty.call(labels, parts.slice(0, n).join('.')) ? labels[parts.slice(0, n).join('.')] : undefined;
    if (hit) return { message: `${hit.label}${m[2]!}`, key: hit.key };
  }
  return { message };
}
