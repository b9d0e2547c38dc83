"""Shared pytest fixtures: paths to ../shared/vectors and the repo's hw_configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest  # does not load numpy

# one BLAS thread per test worker (see gateway/__init__.py), set before anything loads numpy
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

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
