/**
 * Helpers shared by the PHY tests and the bench: random payloads, random quantized JSCC points, bursts
 * with gaps, and channel runs. Pure; every draw takes a seed.
 */
import { Rng } from '../channel/rng.js';
import { ChannelConfig, ChannelSimulator, ChannelTruth } from '../channel/simulator.js';
import { Modulation, constellation } from './constellation.js';
import type { OfdmLayout } from './params.js';

export function randomPoints(n: number, m: Modulation, seed: number): { points: Float32Array; indices: Uint8Array } {
  const rng = new Rng(seed);
  const c = constellation(m);
  const points = new Float32Array(2 * n);
  const indices = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.nextU32() % c.size;
    indices[i] = k;
    points[2 * i] = c.points[2 * k]!;
    points[2 * i + 1] = c.points[2 * k + 1]!;
  }
  return { points, indices };
}

/** Concatenate frames with `gap` zero samples before, between and after them. */
export function burst(frames: Float32Array[], gap: number): { iq: Float32Array; starts: number[] } {
  let total = gap;
  for (const f of frames) total += (f.length >> 1) + gap;
  const iq = new Float32Array(2 * total);
  const starts: number[] = [];
  let pos = gap;
  for (const f of frames) {
    starts.push(pos);
    iq.set(f, 2 * pos);
    pos += (f.length >> 1) + gap;
  }
  return { iq, starts };
}

export function runChannel(iq: Float32Array, cfg: ChannelConfig): { rx: Float32Array; truth: ChannelTruth } {
  return new ChannelSimulator(cfg).run(iq);
}

export function occupiedFraction(layout: OfdmLayout): number {
  return layout.numUsed / layout.fftSize;
}
