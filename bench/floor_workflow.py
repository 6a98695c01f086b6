"""The empty workflow whose completion rate is the floor every other throughput is compared to."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow


@dataclass
class EmptyInput:
    """Nothing to do but a number, so each start carries a payload like Parley's do."""

    number: int


@dataclass
class EmptyResult:
    """The number back."""

    number: int


@workflow.defn
class EmptyWorkflow:
    """Starts and completes in one workflow task."""

    @workflow.run
    async def run(self, input: EmptyInput) -> EmptyResult:
        """Return at once."""
        return EmptyResult(number=input.number)
