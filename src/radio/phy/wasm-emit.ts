/**
 * Byte-level helpers for the receiver's small WebAssembly modules, which are assembled here at start-up
 * (no toolchain, no binary file in the repository): LEB128 integers, the opcodes the modules use, and an
 * emitter for one function body.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const LOCAL_GET = 0x20;
export const LOCAL_SET = 0x21;
export const LOCAL_TEE = 0x22;
export const I32_CONST = 0x41;
export const I32_LOAD = 0x28;
export const I32_STORE = 0x36;
export const I32_ADD = 0x6a;
export const I32_SUB = 0x6b;
export const I32_AND = 0x71;
export const I32_OR = 0x72;
export const I32_SHL = 0x74;
export const I32_EQ = 0x46;
export const I32_LT_S = 0x48;
export const I32_LT_U = 0x49;
export const SIMD = 0xfd;
export const V128_LOAD = 0x00;
export const V128_STORE = 0x0b;
export const I8X16_SHUFFLE = 0x0d;
export const I32X4_SPLAT = 0x11;
export const I32X4_REPLACE_LANE = 0x1c;
export const I32X4_GT_S = 0x3b;
export const I16X8_BITMASK = 0x84;
export const I16X8_NARROW_I32X4_S = 0x85;
export const I32X4_ADD = 0xae;
export const I32X4_SUB = 0xb1;
export const I32X4_MAX_S = 0xb8;
export const I32_STORE8 = 0x3a;
export const I32_SHR_S = 0x75;
export const I32_SHR_U = 0x76;
export const F64_CONST = 0x44;
export const V128_LOAD64_ZERO = 0x5d;
export const V128_STORE64_LANE = 0x5b;
export const F64X2_SPLAT = 0x14;
export const F64X2_PROMOTE_LOW_F32X4 = 0x5f;
export const F64X2_GE = 0x4c;
export const F64X2_FLOOR = 0x75;
export const F64X2_SUB = 0xf1;
export const F64X2_MUL = 0xf2;
export const F64X2_PMIN = 0xf6;
export const F64X2_PMAX = 0xf7;
export const I32X4_TRUNC_SAT_F64X2_S_ZERO = 0xfc;
export const BLOCK = 0x02;
export const LOOP = 0x03;
export const BR_IF = 0x0d;
export const END = 0x0b;
export const VOID = 0x40;
export const I32_MUL = 0x6c;
export const I32_NE = 0x47;
export const F32_LOAD = 0x2a;
export const F32_STORE = 0x38;
export const F64_ADD = 0xa0;
export const F64_SUB = 0xa1;
export const F64_MUL = 0xa2;
export const F32_DEMOTE_F64 = 0xb6;
export const F64_PROMOTE_F32 = 0xbb;
export const F64X2_ADD = 0xf0;
export const IF = 0x04;
export const SELECT = 0x1b;
export const F64_MAX = 0xa5;
export const F64_DIV = 0xa3;
export const F64_NE = 0x62;
export const I64_CONST = 0x42;
export const I64_ADD = 0x7c;
export const I32_WRAP_I64 = 0xa7;
export const I64X2_SPLAT = 0x12;
export const I64X2_EXTRACT_LANE = 0x1d;
export const I64X2_SUB = 0xd1;
export const F64X2_REPLACE_LANE = 0x22;
export const F64X2_ABS = 0xec;
export const F64X2_LT = 0x49;
export const V128_AND = 0x4e;
export const F64_LE = 0x65;
export const ELSE = 0x05;
export const BR = 0x0c;
export const I32_XOR = 0x73;
export const I32_GE_S = 0x4e;
export const I32_TRUNC_F64_S = 0xaa;
export const F64_CONVERT_I32_S = 0xb7;
export const F64_LOAD = 0x2b;
export const F64_STORE = 0x39;
export const F64_GT = 0x64;
export const F64_LT = 0x63;
export const F64_GE = 0x66;
export const F32X4_DEMOTE_F64X2_ZERO = 0x5e;

/** A module section: id, byte length, payload. */
export function section(id: number, payload: number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

/** A name (import module/field, export) as the binary format writes it: length, then the bytes. */
export function wasmName(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
}

/** A function body with its local declarations, length-prefixed as the code section wants it. */
export function functionCode(localDecls: number[], code: number[]): number[] {
  const body = [...localDecls, ...code];
  return [...uleb(body.length), ...body];
}

/** Byte address of the demodulator kernels' double inputs (demod-wasm.ts keeps 8 f64 there). */
export const DEMOD_ARGS = 0;

/**
 * A function whose double inputs are read from memory (`count` f64 at byte `argsAt`) into locals
 * first .. first + count - 1 (declared here, before `localDecls`' groups) instead of being parameters:
 * a call from JavaScript with double arguments boxes each one (a heap number per argument per call), while
 * the caller's stores into a Float64Array view allocate nothing.
 */
export function functionCodeWithF64Args(argsAt: number, first: number, count: number, localDecls: number[], code: number[]): number[] {
  const prologue: number[] = [];
  for (let k = 0; k < count; k++) prologue.push(I32_CONST, ...sleb(argsAt), F64_LOAD, 3, ...uleb(8 * k), LOCAL_SET, ...uleb(first + k));
  return functionCode([localDecls[0]! + 1, count, 0x7c, ...localDecls.slice(1)], [...prologue, ...code]);
}

/** Emitters for one function body: `c` collects its code bytes. */
export function emitter() {
  const c: number[] = [];
  const op = (...b: number[]): void => {
    c.push(...b);
  };
  return {
    c,
    op,
    get: (l: number): void => op(LOCAL_GET, l),
    set: (l: number): void => op(LOCAL_SET, l),
    i32: (v: number): void => op(I32_CONST, ...sleb(v)),
    f64x2: (v: number): void => {
      const b = new Uint8Array(new Float64Array([v]).buffer);
      op(F64_CONST, ...b);
      op(SIMD, ...uleb(F64X2_SPLAT));
    },
    f64: (v: number): void => {
      op(F64_CONST, ...new Uint8Array(new Float64Array([v]).buffer));
    },
    simd: (code: number, ...imm: number[]): void => op(SIMD, ...uleb(code), ...imm),
    mem: (align: number, offset: number): number[] => [align, ...uleb(offset)],
    /** Pushes a b + c d (or a b - c d) of four f64 locals: the JavaScript's `a * b + c * d`. */
    pair: (a: number, b: number, c2: number, d: number, sub: boolean): void => {
      op(LOCAL_GET, a, LOCAL_GET, b, F64_MUL, LOCAL_GET, c2, LOCAL_GET, d, F64_MUL, sub ? F64_SUB : F64_ADD);
    },
    /** i32 local l += v. */
    addTo: (l: number, v: number): void => {
      op(LOCAL_GET, l, I32_CONST, ...sleb(v), I32_ADD, LOCAL_SET, l);
    },
    /**
     * Opens a counting loop over k = 0 .. n - 1 (i32 locals), skipped when n < 1: a block and a loop, which
     * nextWhileLess(k, n) and one END close.
     */
    countFrom0: (k: number, n: number): void => {
      op(I32_CONST, 0, LOCAL_SET, k, BLOCK, VOID, LOCAL_GET, n, I32_CONST, 1, I32_LT_S, BR_IF, 0, LOOP, VOID);
    },
    /** Closes a counting loop: i32 local k += 1, branch back while k < the i32 local `limit`. */
    nextWhileLess: (k: number, limit: number): void => {
      op(LOCAL_GET, k, I32_CONST, 1, I32_ADD, LOCAL_TEE, k, LOCAL_GET, limit, I32_LT_S, BR_IF, 0, END);
    },
    /** Closes a loop: branch back while local l < limit (pushed by `limit`). */
    loopWhileLess: (l: number, limit: () => void): void => {
      op(LOCAL_GET, l);
      limit();
      op(I32_LT_S, BR_IF, 0, END);
    },
  };
}


/** The part of the WebAssembly JS API used here (the project's TypeScript lib settings do not declare it). */
export interface WasmApi {
  Memory: new (d: { initial: number }) => { readonly buffer: ArrayBuffer; grow(pages: number): number };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}

/** WebAssembly where this runtime has it (Node >= 20 does), else null. */
export function wasmApi(): WasmApi | null {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly ?? null;
}
