"""A matchmaker's no-show sweeps: which slots of its shard still hold sessions to settle, when
each is due, and the sweep itself. The workflow (`workflows/matchmaker.py`) sleeps to the
earliest due moment; a pass adds the slot of each session it makes."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.settlement import SettlementActivities
    from contracts.matchmaker import MatchmakerInput, SettleShardInput
    from workflows.activity_calls import run_activity


class NoShowSweeps:
    """The slots holding this shard's sessions whose no-show sweep is still ahead."""

    def __init__(self, input: MatchmakerInput) -> None:
        self._input = input
        # Shared with the passes (`ShardPasses`), which add the slots of the sessions they make.
        self.due: set[datetime] = set()

    def deadline(self, slot: datetime) -> datetime:
        """A slot's no-show deadline: its start, the grace and the receipt skew."""
        policy = self._input.policy
        return slot + timedelta(seconds=policy.no_show_grace_seconds + policy.receipt_skew_seconds)

    def moments(self) -> list[tuple[datetime, str]]:
        """When each sweep is due, with what the timer says."""
        return [(self.deadline(slot), "a slot's no-show deadline: sweep it") for slot in self.due]

    async def run_due(self, now: datetime) -> int:
        """Sweep each slot whose deadline has passed, earliest first; how many sessions were
        cancelled."""
        no_shows = 0
        for slot in sorted(self.due):
            if self.deadline(slot) <= now:
                self.due.discard(slot)
                no_shows += await self._sweep(slot)
        return no_shows

    async def _sweep(self, slot: datetime) -> int:
        """Just after a slot's no-show deadline (by the receipt skew, so that a join that reached
        Parley in time has committed), settle every due session of the slot in this shard in one
        transaction, rematches included; the sessions' own timers follow."""
        input = self._input
        workflow.set_current_details(f"no-show sweep of {slot:%H:%M} UTC")
        swept = await run_activity(
            SettlementActivities.settle_shard,
            SettleShardInput(
                slot, input.duration_minutes, input.languages, workflow.now(), input.policy
            ),
            "settle the slot's no-shows and recorded cancels; book the rematches",
        )
        workflow.set_current_details(
            f"no-show sweep of {slot:%H:%M} UTC cancelled {len(swept.cancelled_session_ids)}, "
            f"rematched {len(swept.rematch_request_ids)}"
        )
        return len(swept.cancelled_session_ids)
