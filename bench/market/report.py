"""The market's rows in the benchmark's table."""

from __future__ import annotations

from typing import Any


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def rows(market: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A few rows per configuration, after what the market was."""
    if not market:
        return []
    out = [
        ("market: learners / evening", f"{market['learners']} / {market['evening']}"),
        ("market: time scale", market["time_scale"]),
        ("market: no-shows", market["no_shows"]),
    ]
    for key, each in sorted(market["configs"].items()):
        name = f"market ({key}) {each.get('title', '')}"
        if "failed" in each:
            out.append((f"{name}: FAILED", each["failed"].splitlines()[0]))
            continue
        off = each["offline"]
        out += [
            (
                f"{name}: match rate",
                f"**{_pct(each['match_rate'])}** ({each['requests_matched']} of "
                f"{each['requests']} requests; first bookings {_pct(each['original_match_rate'])}"
                f"; {each['learners_matched']} of {each['learners_who_booked']} learners met "
                "someone)",
            ),
            (
                f"{name}: median wait booking to match",
                f"{each['median_wait_simulated_minutes']} simulated min "
                f"({each['median_wait_seconds']} s)",
            ),
            (
                f"{name}: no-shows / let-down partners rebooked / then matched",
                f"{each['absentees']} ({_pct(each['no_show_rate'])} of attendances) / "
                f"{each['rebooked']} / {each['rebooked_matched']}",
            ),
            (
                f"{name}: pairs made / offline maximum",
                f"{off['pairs_made']} / {off['pairs_maximum']} over {off['slot_shards']} slot "
                f"shards; short where bookings paused: {off['short_where_paused']} "
                f"({off['pairs_short_where_paused']} pairs), elsewhere: "
                f"{off['short_where_not_paused']} ({off['pairs_short_where_not_paused']} pairs)",
            ),
            (
                f"{name}: refused or dropped",
                ", ".join(
                    f"{call} {count}"
                    for call, count in each["calls"].items()
                    if not call.endswith((" 200", " 201", " 202"))
                )
                + f"; bookings dropped as too late: {each['bookings_dropped_late']}"
                + (
                    f"; booking POST p50 / p99 {book['p50_ms']} / {book['p99_ms']} ms"
                    if (book := each.get("call_latency", {}).get("book"))
                    else ""
                )
                + ("" if each["settled"] else "; DID NOT SETTLE"),
            ),
        ]
    return out
