"""`python -m gateway relay`: a stage of the pass demo's ZeroMQ topology as its own process.

`run --topology zmq` (gateway.pass_topology.ZmqTopology) starts two of them and receives the handsets'
streams itself; the plan file it writes (the demo's sample plan, the handsets, the relay settings) and
the profile give every stage the same parameters:

    python -m gateway relay --plan plan.json --rx @ipc:///tmp/gw.ipc \
        --tx centre=>ipc:///tmp/h0.ipc --tx edge=>ipc:///tmp/h1.ipc --report relay.json     # the relay
    python -m gateway relay --plan plan.json --stage gateway --tx >ipc:///tmp/gw.ipc        # the gateway

The relay stage receives the gateway's pre-compensated DL as native IQ frames, runs each window's relay
emulator (channel.RelayEmulator: two hops from the TLE, link budget, AWGN, fading) and sends each handset
its stream; the gateway stage runs the eNodeB and the pre-compensation. Both check every frame's
timestamp against the plan (no sample lost or repeated) and write their socket counters to --report.
They wait for their peers as long as their parent process lives; --timeout bounds a stall (no frame
in or out) when one is run by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gateway.cli_args import UserError, timeout_seconds
from gateway.config import load_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("relay", help="a stage of the pass demo's ZeroMQ topology: the relay emulator (or, with "
                                     "--stage gateway, the gateway) as its own process")
    p.add_argument("--plan", required=True, help="plan file written by `run --topology zmq` (pass_topology)")
    p.add_argument("--config", help="YAML profile (default: the one named in the plan file)")
    p.add_argument("--stage", choices=("relay", "gateway"), default="relay", help="which stage (default relay)")
    p.add_argument("--rx", help="relay: endpoint of the gateway's stream (@addr binds, >addr connects)")
    p.add_argument("--tx", action="append", default=[],
                   help="relay: NAME=ENDPOINT per handset; gateway: the relay's ENDPOINT")
    p.add_argument("--report", help="write the socket counters here (JSON)")
    p.add_argument("--timeout", type=timeout_seconds,
                   help="longest stall (no frame in or out) before giving up (default: wait while the parent lives)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gateway.pass_topology import gateway_stage, load_plan, relay_stage

    config_path, plan, handsets, settings = load_plan(args.plan)
    cfg = load_config(args.config or config_path)
    if args.stage == "gateway":
        if len(args.tx) != 1 or args.rx:
            raise UserError("--stage gateway takes one --tx ENDPOINT (the relay's) and no --rx")
        counters = gateway_stage(cfg, plan, args.tx[0], args.timeout)
    else:
        if not args.rx or not args.tx:
            raise UserError("the relay stage needs --rx ENDPOINT and a --tx NAME=ENDPOINT per handset")
        pairs = [t.split("=", 1) for t in args.tx]
        if any(len(p) != 2 or not p[0] for p in pairs):
            raise UserError(f"--tx: give NAME=ENDPOINT, got {args.tx}")
        if sorted(p[0] for p in pairs) != sorted(h.name for h in handsets):
            names = ", ".join(h.name for h in handsets)
            raise UserError(f"--tx: give one NAME=ENDPOINT per handset of the plan ({names})")
        counters = relay_stage(cfg, plan, handsets, settings, args.rx, dict(pairs), args.timeout)
    if args.report:
        Path(args.report).write_text(json.dumps(counters, indent=1))
    return 0
