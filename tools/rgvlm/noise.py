"""Python twin of the seeded noise in docs/formats.md: Philox4x32-10 + Box-Muller, numpy uint32 arithmetic."""

from __future__ import annotations

import numpy as np

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint32(0x9E3779B9)
W1 = np.uint32(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Vectorised over counters (uint32 arrays); key (k0, k1) uint32 scalars or arrays. Returns r0..r3."""
    c0, c1, c2, c3 = (np.asarray(x, dtype=np.uint32) for x in (c0, c1, c2, c3))
    k0 = np.asarray(k0, dtype=np.uint32)
    k1 = np.asarray(k1, dtype=np.uint32)
    with np.errstate(over="ignore"):
        for r in range(10):
            p0 = M0 * c0.astype(np.uint64)
            p1 = M1 * c2.astype(np.uint64)
            hi0 = (p0 >> np.uint64(32)).astype(np.uint32)
            lo0 = (p0 & MASK32).astype(np.uint32)
            hi1 = (p1 >> np.uint64(32)).astype(np.uint32)
            lo1 = (p1 & MASK32).astype(np.uint32)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
            if r < 9:
                k0 = (k0 + W0).astype(np.uint32)
                k1 = (k1 + W1).astype(np.uint32)
    return c0, c1, c2, c3


def philox_uniforms(r: np.ndarray) -> np.ndarray:
    """u = ((r >> 8) + 0.5) * 2^-24, exact in f32."""
    return (((r >> np.uint32(8)).astype(np.float64) + 0.5) * (2.0**-24)).astype(np.float32)


def seeded_normal(seed: int, count: int) -> np.ndarray:
    """count elements (flat NCHW index i) of the seeded Gaussian noise, float32.

    Box-Muller is evaluated in float64 from the f32-exact uniforms and rounded to f32 once; the integers are
    bit-identical to every other implementation, the normals differ by float rounding only."""
    i = np.arange(count, dtype=np.uint64)
    ctr = (i // np.uint64(4)).astype(np.uint32)
    z = np.zeros_like(ctr)
    r = philox4x32_10(ctr, z, z, z, np.uint32(seed & 0xFFFFFFFF), np.uint32(0))
    u = [philox_uniforms(x).astype(np.float64) for x in r]
    rad01 = np.sqrt(-2.0 * np.log(u[0]))
    rad23 = np.sqrt(-2.0 * np.log(u[2]))
    n = [rad01 * np.cos(2 * np.pi * u[1]), rad01 * np.sin(2 * np.pi * u[1]),
         rad23 * np.cos(2 * np.pi * u[3]), rad23 * np.sin(2 * np.pi * u[3])]
    lane = (i % np.uint64(4)).astype(np.int64)
    out = np.choose(lane, n)
    return out.astype(np.float32)


def philox_words(seed: int, count: int) -> np.ndarray:
    """The raw r_(i mod 4) word for each element i (uint32) -- for bit-exact integer checks."""
    i = np.arange(count, dtype=np.uint64)
    ctr = (i // np.uint64(4)).astype(np.uint32)
    z = np.zeros_like(ctr)
    r = philox4x32_10(ctr, z, z, z, np.uint32(seed & 0xFFFFFFFF), np.uint32(0))
    lane = (i % np.uint64(4)).astype(np.int64)
    return np.choose(lane, r).astype(np.uint32)


def latent_noise(seed: int, shape: tuple) -> np.ndarray:
    """Noise for one latent [1, C, H, W] (batch b of the same seed uses seed + b)."""
    out = np.empty(shape, dtype=np.float32)
    per = int(np.prod(shape[1:]))
    for b in range(shape[0]):
        out[b] = seeded_normal((seed + b) & 0xFFFFFFFF, per).reshape(shape[1:])
    return out


def _self_test():
    # Random123 known-answer tests for philox4x32-10
    r = philox4x32_10([0], [0], [0], [0], 0, 0)
    assert [int(x[0]) for x in r] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], [hex(int(x[0])) for x in r]
    r = philox4x32_10([0xFFFFFFFF] * 1, [0xFFFFFFFF], [0xFFFFFFFF], [0xFFFFFFFF], 0xFFFFFFFF, 0xFFFFFFFF)
    assert [int(x[0]) for x in r] == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD], [hex(int(x[0])) for x in r]
    r = philox4x32_10([0x243F6A88], [0x85A308D3], [0x13198A2E], [0x03707344], 0xA4093822, 0x299F31D0)
    assert [int(x[0]) for x in r] == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1], [hex(int(x[0])) for x in r]


if __name__ == "__main__":
    _self_test()
    print(seeded_normal(42, 16))
