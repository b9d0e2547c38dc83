"""FEC bench: Viterbi decoding (PBCH and DCI sizes), CRC and rate matching throughput on one core."""

from __future__ import annotations

import numpy as np

from bench.timing import cpu_seconds
from phy.fec.convolutional import tbcc_decode, tbcc_encode
from phy.fec.crc import crc_attach
from phy.fec.ratematch import rate_dematch_conv, rate_dematch_turbo, rate_match_conv, rate_match_turbo


def _noisy_llr(d: np.ndarray, eb_n0_db: float, rng: np.random.Generator) -> np.ndarray:
    sigma2 = 1.0 / (2.0 / 3.0 * 10.0 ** (eb_n0_db / 10.0))
    y = 1.0 - 2.0 * d + rng.normal(0.0, np.sqrt(sigma2), d.shape)
    return (2.0 * y / sigma2).astype(np.float32)


def main() -> None:
    rng = np.random.default_rng(0)
    rows: list[tuple[str, float, str]] = []

    for k_len, label in [(40, "PBCH K=40"), (57, "DCI K=57")]:
        n = 200
        c = rng.integers(0, 2, (n, k_len), dtype=np.uint8)
        d = tbcc_encode(c)
        for eb_n0 in (6.0, -2.0):  # clean blocks vs noise-dominated ones (more exact-ML fallbacks)
            llr = _noisy_llr(d, eb_n0, rng)
            t = cpu_seconds(lambda llr=llr: tbcc_decode(llr), repeat=3)
            rows.append((f"Viterbi {label}, Eb/N0 {eb_n0:+.0f} dB", n / t, "blocks/s"))
        # blind PDCCH decoding: one candidate per call, mostly noise, the CRC decides
        llr = _noisy_llr(d, -2.0, rng)
        for exact in (True, False):
            t = cpu_seconds(lambda llr=llr, exact=exact: [tbcc_decode(x, exact_fallback=exact) for x in llr], repeat=3)
            rows.append((f"Viterbi {label}, -2 dB, 1 per call, exact_fallback={exact}", n / t, "blocks/s"))

    c = rng.integers(0, 2, 40, dtype=np.uint8)
    t = cpu_seconds(lambda: tbcc_encode(c), repeat=5, number=200)
    rows.append(("TBCC encode K=40", 1.0 / t, "blocks/s"))

    d = tbcc_encode(c)
    t = cpu_seconds(lambda: rate_match_conv(d, 1920), repeat=5, number=200)
    rows.append(("rate_match_conv K=40 -> E=1920", 1.0 / t, "blocks/s"))
    llr = rng.normal(size=1920).astype(np.float32)
    t = cpu_seconds(lambda: rate_dematch_conv(llr, 40), repeat=5, number=200)
    rows.append(("rate_dematch_conv E=1920 -> K=40", 1.0 / t, "blocks/s"))

    d6144 = rng.integers(0, 2, (3, 6148), dtype=np.uint8)
    e = 18000
    t = cpu_seconds(lambda: rate_match_turbo(d6144, e, 0), repeat=5, number=20)
    rows.append((f"rate_match_turbo K=6144 -> E={e}", e / t / 1e6, "Mbit/s"))
    llr = rng.normal(size=e).astype(np.float32)
    t = cpu_seconds(lambda: rate_dematch_turbo(llr, 6144, 0), repeat=5, number=20)
    rows.append((f"rate_dematch_turbo E={e} -> K=6144", e / t / 1e6, "Mbit/s"))

    a = rng.integers(0, 2, 75376, dtype=np.uint8)
    t = cpu_seconds(lambda: crc_attach(a, "24a"), repeat=5, number=10)
    rows.append(("CRC24A attach, A=75376", a.size / t / 1e6, "Mbit/s"))
    for a_len, kind in ((6120, "24b"), (43, "16")):  # a full code block; a DCI format 1 payload
        a = rng.integers(0, 2, a_len, dtype=np.uint8)
        t = cpu_seconds(lambda a=a, kind=kind: crc_attach(a, kind), repeat=5, number=100)
        rows.append((f"CRC{kind.upper()} attach, A={a_len}", 1.0 / t, "blocks/s"))

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'rate':>12}  unit")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>12,.0f}  {unit}")


if __name__ == "__main__":
    main()
