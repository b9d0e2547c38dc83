"""DSP primitives shared by the gateway (pre-compensation) and the channel simulator (the truth).

farrow: a least-squares Farrow fractional-delay interpolator (taps polynomial in the fraction mu) and
a gather-and-sum evaluation of a sample stream at arbitrary float64 read positions.
"""

from .farrow import FarrowKernel, farrow_kernel, interpolate_at

__all__ = ["FarrowKernel", "farrow_kernel", "interpolate_at"]
