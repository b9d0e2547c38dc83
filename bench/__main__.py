"""`make bench`: run every bench/bench_*.py module's main() and print its table.

`python -m bench` runs all; `python -m bench ofdm precomp` runs the named ones. Figures are
real-time factors (seconds of signal per second of CPU on one core) and throughputs.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the budgets are stated
    here = os.path.dirname(__file__)
    names = sorted(m.name for m in pkgutil.iter_modules([here]) if m.name.startswith("bench_"))
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv]
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"\n## {name.removeprefix('bench_')}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
