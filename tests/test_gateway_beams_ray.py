"""Many beams on a Ray cluster (issue 13): the beam workers as Ray actors, Ray restarting a killed one, the
stream resuming at the right sample. Needs Ray (`pip install -e '.[cluster]'`): skipped without it. Starts a
local one-machine Ray cluster (ray.init), which takes several seconds: marked slow."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from gateway.beams import BeamSupervisor, beam_plan, beam_stream
from phy.numerology import numerology
from tests.test_gateway_beams import _cfg, _collect, _sinks

ray = pytest.importorskip("ray", reason="Ray not installed (pip install -e '.[cluster]')")
pytestmark = pytest.mark.slow

N_MS = 30
KILL_AT = 15


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_actors_stream_three_beams_and_a_killed_actor_resumes_sample_exact(hw_configs_dir, local_ray):
    cfg, sinks = _sinks(_cfg(hw_configs_dir), 3)
    plan = beam_plan(cfg, 3, 40e3)
    spsf = numerology(cfg.cell.n_rb_dl).samples_per_subframe
    killed = {}

    def kill_beam_1(sup):
        if not killed and sup.report[1].subframes >= KILL_AT:
            killed["pid"], killed["at"] = sup.worker_pid(1), sup.report[1].subframes
            os.kill(killed["pid"], signal.SIGKILL)  # the actor's process, as an OOM kill would

    sup = BeamSupervisor(plan, N_MS, workers=3, backend="ray")
    try:
        assert sup.backend.name == "ray"
        report = sup.run(kill_beam_1)
    finally:
        sup.close()
    streams = [_collect(s, N_MS * spsf) for s in sinks]
    for s in sinks:
        s.close()
    assert killed and killed["pid"] != os.getpid() and KILL_AT <= killed["at"] < N_MS
    # resumed at the first subframe not received: at or after the count seen at the kill (frames the actor had
    # queued still arrive), never past the stream's end; the other beams untouched
    assert report[0].restarts == report[2].restarts == [] and len(report[1].restarts) == 1
    assert killed["at"] <= report[1].restarts[0] < N_MS
    for b, y in zip(plan, streams, strict=True):  # the single-process stream of each beam, bit for bit
        ref = np.concatenate([x for _, x in beam_stream(sup.jobs[b.index])])
        np.testing.assert_array_equal(y, ref)
