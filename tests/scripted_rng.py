"""A random source for the random-access tests whose first preamble choices are given (to make handsets collide)."""

from __future__ import annotations

import random


class ScriptedRandom(random.Random):
    """random.Random whose randrange returns `preambles` first, in order, then draws as usual."""

    def __init__(self, seed, preambles):
        super().__init__(seed)
        self.preambles = list(preambles)

    def randrange(self, *args):
        return self.preambles.pop(0) if self.preambles else super().randrange(*args)
