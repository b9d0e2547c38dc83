"""Real-time factor of the broadcast downlink builder and of the OFDM modulator (one core).

RTF = 1 ms of signal / CPU seconds per subframe; > 1 is faster than real time.
`python -m bench downlink`.
"""

from __future__ import annotations

import itertools
from functools import partial
from types import SimpleNamespace

import numpy as np

from bench.timing import cpu_seconds
from phy.downlink import build_subframe
from phy.ofdm import ofdm_modulate

BANDWIDTHS = ((6, "1.4"), (25, "5"), (50, "10"), (100, "20"))


def _cell(n_rb: int, n_ports: int) -> SimpleNamespace:
    cell = SimpleNamespace(
        n_rb_dl=n_rb, pci=123, n_ports=n_ports, cfi=2, phich_duration="normal", phich_resource="one"
    )
    cell.n_ctrl_symbols = cell.cfi + 1 if n_rb <= 10 else cell.cfi
    return cell


def _broadcast_subframes(cell: SimpleNamespace):
    """Subframe 0 of successive frames: the PBCH frame phase and the MIB change as on air."""
    frames = itertools.count()
    return lambda: build_subframe(cell, next(frames) % 1024, 0)


def main() -> None:
    print(
        f"{'MHz':>5} {'ports':>5} | {'subframe 0 RTF':>14} {'subframe 3 RTF':>14} {'ofdm_modulate RTF':>17}"
    )
    rng = np.random.default_rng(0)
    for n_rb, mhz in BANDWIDTHS:
        for n_ports in (1, 2):
            cell = _cell(n_rb, n_ports)
            grid = (rng.standard_normal((n_ports, 14, 12 * n_rb)) * (1 + 1j)).astype(np.complex64)
            t0 = cpu_seconds(_broadcast_subframes(cell), repeat=5, number=20)
            t3 = cpu_seconds(partial(build_subframe, cell, 0, 3), repeat=5, number=20)
            tm = cpu_seconds(partial(ofdm_modulate, grid), repeat=5, number=20)
            print(f"{mhz:>5} {n_ports:>5} | {1e-3 / t0:14.1f} {1e-3 / t3:14.1f} {1e-3 / tm:17.1f}")


if __name__ == "__main__":
    main()
