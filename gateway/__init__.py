"""Soragate's gateway application: profiles, the eNodeB, pre-compensation and the `python -m gateway` CLI.

One BLAS thread per process unless the user says otherwise: the gateway's work is many small matrix
products (PRACH refinement, MMSE, channel estimates) inside a pipeline of processes, and a multi-threaded
OpenBLAS spinning its threads on a busy 2-core machine was measured 30x slower on them (PRACH detection
16 ms instead of 0.44 ms per occasion). The variables must be set before numpy loads OpenBLAS.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
