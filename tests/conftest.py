"""Shared pytest fixtures: paths to ../shared/vectors and the repo's hw_configs."""

from __future__ import annotations

from pathlib import Path

import pytest

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
