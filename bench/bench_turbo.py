"""Turbo encoder and decoder throughput on one core (information bits per CPU second): one K = 6144
block, and the 13 code blocks (K = 5824) of a 20 MHz MCS 28 transport block decoded together
(phy.fec.turbo.turbo_decode_blocks: 8 blocks side by side in the vectorised kernel)."""

from __future__ import annotations

import math

import numpy as np

from bench.timing import cpu_seconds
from phy.fec.turbo import turbo_decode, turbo_decode_blocks, turbo_encode, turbo_encode_blocks

K = 6144
TB_BLOCKS, TB_K = 13, 5824  # TBS 75376 at I_TBS 26, 100 PRB: C = 13 code blocks of K+ = 5824 (TS 36.212 5.1.2)


def _llr(d: np.ndarray, ebn0_db: float, rng: np.random.Generator) -> np.ndarray:
    rate = (d.shape[-1] - 4) / (3 * d.shape[-1])  # K / (3 (K + 4)): code rate with the tail bits
    sigma = math.sqrt(1.0 / (2.0 * rate * 10 ** (ebn0_db / 10)))
    y = (1.0 - 2.0 * d) + sigma * rng.standard_normal(d.shape)
    return (2.0 * y / sigma**2).astype(np.float32)


def main() -> None:
    rng = np.random.default_rng(0)
    c = rng.integers(0, 2, K).astype(np.uint8)
    d = turbo_encode(c)
    rows = [("encoder", cpu_seconds(lambda: turbo_encode(c), repeat=5, number=20), "-")]
    for ebn0_db in (1.0, 3.0):
        llr = _llr(d, ebn0_db, rng)
        t = cpu_seconds(lambda llr=llr: turbo_decode(llr))
        rows.append((f"decoder 8 it, Eb/N0 {ebn0_db:.0f} dB", t, 8))
        calls = []

        def stop(bits, calls=calls):
            calls.append(1)
            return np.array_equal(bits, c)  # stands in for the CRC24B check of the code block

        t = cpu_seconds(lambda llr=llr: turbo_decode(llr, early_stop=stop))
        n_iter = len(calls) / 6  # cpu_seconds runs 1 warm-up + 5 rounds
        rows.append((f"decoder early stop, Eb/N0 {ebn0_db:.0f} dB", t, f"{n_iter:.1f}"))
    print(f"K = {K}, one core, best of 5")
    print(f"{'case':34s} {'iterations':>10s} {'ms/block':>9s} {'Mbit/s':>8s}")
    for name, seconds, n_iter in rows:
        print(f"{name:34s} {n_iter!s:>10s} {seconds * 1e3:9.3f} {K / seconds / 1e6:8.2f}")
    c_tb = rng.integers(0, 2, (TB_BLOCKS, TB_K)).astype(np.uint8)
    llr_tb = _llr(turbo_encode_blocks(c_tb), 1.0, rng)
    t_tb = cpu_seconds(lambda: turbo_decode_blocks(llr_tb, n_iter=8))
    n_bits = TB_BLOCKS * TB_K
    print(f"\n{TB_BLOCKS} x K = {TB_K} (20 MHz MCS 28 TB), 8 it, Eb/N0 1 dB: {t_tb * 1e3:.2f} ms per TB, "
          f"{n_bits / t_tb / 1e6:.2f} Mbit/s")


if __name__ == "__main__":
    main()
