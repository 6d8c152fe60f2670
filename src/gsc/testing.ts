/** Helpers for tests: the shipped models folder and the fixtures Python wrote into it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultModelsDir } from './models.js';

export interface FixtureTensor {
  type: 'float32' | 'int64';
  dims: number[];
  data: number[];
}

export function modelsDir(): string {
  return defaultModelsDir();
}

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(modelsDir(), 'fixtures', name), 'utf8')) as T;
}

/** max |a - b| / max(max |b|, tiny): the relative error the parity criterion is stated in. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxRef = Math.max(maxRef, Math.abs(expected[i]!));
  }
  return maxDiff / Math.max(maxRef, 1e-12);
}
