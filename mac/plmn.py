"""PLMN identity (TS 23.003 2.2; TS 36.331 PLMN-Identity): the value SIB1 broadcasts, one per operator."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Plmn"]


class Plmn(NamedTuple):
    """A PLMN identity: MCC and MNC as digit strings (TS 23.003 2.2, TS 36.331 PLMN-Identity)."""

    mcc: str
    mnc: str

    def __str__(self) -> str:
        return f"{self.mcc}-{self.mnc}"
