"""The seeded Gaussian generator shared with TypeScript (src/gsc/rng.ts), bit for bit.

xoshiro128** seeded through splitmix32, 24-bit uniforms, Box-Muller in double precision. The initial
noise of a diffusion sample is drawn from it, so the same seed gives the same image in both languages.
"""
from __future__ import annotations

import math

import numpy as np

MASK = 0xFFFFFFFF


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & MASK


class SeededRng:
    def __init__(self, seed: int):
        s = seed & MASK
        state = []
        for _ in range(4):
            s = (s + 0x9E3779B9) & MASK
            z = s
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & MASK
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & MASK
            state.append(z ^ (z >> 16))
        if not any(state):
            state[0] = 1
        self.s = state
        self._spare: float | None = None

    def next_u32(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 9) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 11)
        return result

    def uniform(self) -> float:
        """[0, 1) with 24 bits, exactly representable in float32."""
        return (self.next_u32() >> 8) * (1.0 / 16777216.0)

    def normal(self) -> float:
        if self._spare is not None:
            v, self._spare = self._spare, None
            return v
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        r = math.sqrt(-2.0 * math.log(u1))
        self._spare = r * math.sin(2.0 * math.pi * u2)
        return r * math.cos(2.0 * math.pi * u2)

    def normals(self, n: int) -> np.ndarray:
        return np.array([self.normal() for _ in range(n)], dtype=np.float32)
