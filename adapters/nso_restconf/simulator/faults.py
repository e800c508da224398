"""Fault injection: latency, random errors, busy (503), in-use (409), unreachable devices.

Set at start (``nsgw nso-sim --latency-ms ...``) or at run time through the
admin endpoint ``PUT /sim/faults`` (JSON of :class:`Faults`).
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0.0, ge=0, description="added to every RESTCONF request")
    device_latency_ms: float = Field(
        0.0, ge=0, description="added to device actions (NSO talking to the device)"
    )
    error_rate: float = Field(0.0, ge=0, le=1, description="share of requests answered 500")
    unreachable: list[str] = Field(default_factory=list, description="devices that do not answer")
    busy: int = Field(0, ge=0, description="the next N requests get 503")
    in_use: int = Field(0, ge=0, description="the next N writes or actions get 409 in-use")
    seed: int | None = Field(None, description="seed of the error-rate draw (repeatable runs)")


class FaultInjector:
    """The active faults; counters count down as they fire."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = Faults()
        self._random = random.Random()  # noqa: S311 - fault draws, not security
        self.set(faults or Faults())

    def set(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)  # noqa: S311

    def take_busy(self) -> bool:
        if self.faults.busy > 0:
            self.faults.busy -= 1
            return True
        return False

    def take_in_use(self) -> bool:
        if self.faults.in_use > 0:
            self.faults.in_use -= 1
            return True
        return False

    def draw_error(self) -> bool:
        rate = self.faults.error_rate
        return rate > 0 and self._random.random() < rate

    def unreachable(self, device: str) -> bool:
        return device in self.faults.unreachable
