"""Shared pytest fixtures: paths to ../shared/vectors and the repo's hw_configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest  # does not load numpy
import zmq  # nor does this

# one BLAS thread per test worker (see gateway/__init__.py), set before anything loads numpy
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
# encoded-SIB cache (mac/sib.py) in a directory of this run, not the user's ~/.cache
if "SORAGATE_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["SORAGATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="soragate-test-cache-")


def _destroy_leaked_context(ctx) -> None:
    """A zmq Context that a failed test left open, when collected: its known sockets are closed with linger 0
    and the context is left to process exit, never terminated here. pyzmq's own __del__ terminates it, which
    waits on every socket's linger (forever, by default, with unsent messages), and even destroy(linger=0)
    can block for good: CPython clears the weak references of a collected cycle before running finalizers,
    so the context no longer sees a socket of the same cycle that is still open (seen in CI: a failed zmq
    test's context hung the next test inside the garbage collector)."""
    if getattr(ctx, "_shadow", True) or ctx.closed:
        return
    for sock in list(getattr(ctx, "_sockets", ())):
        if not sock.closed:
            sock.close(linger=0)


def _close_leaked_socket(sock) -> None:
    """The same for a socket collected while open (its context's term would wait on its linger)."""
    if not getattr(sock, "_shadow", True) and not sock.closed:
        sock.close(linger=0)


zmq.Context.__del__ = _destroy_leaked_context
zmq.Socket.__del__ = _close_leaked_socket

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO.parent / "shared" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not VECTORS.is_dir():
        pytest.fail(f"../shared/vectors not found at {VECTORS}: CI clones shared/ beside the repo")
    return VECTORS


@pytest.fixture(scope="session")
def hw_configs_dir() -> Path:
    return REPO / "hw_configs"


@pytest.fixture(scope="session")
def sc(hw_configs_dir):
    """The pass prediction of the shipped loopback profile."""
    from gateway.config import load_config
    from gateway.prediction import PassPrediction

    return PassPrediction.from_config(load_config(hw_configs_dir / "loopback.yaml"))


@pytest.fixture(scope="session")
def pass_(sc):
    """The pass the loopback profile selects."""
    return sc.select_pass()
