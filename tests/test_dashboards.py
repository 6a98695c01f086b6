"""The Grafana dashboard and the Prometheus alerts read only what Parley exports: every metric,
label and label value their PromQL names is found by scraping a running stack (time-skipping
Temporal, a worker with a Prometheus runtime, the app) after a booking, a match, a no-show and a
cancel. promtool's checks are in tests/test_promtool.py."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import promql
from tests.helpers import Stack, book_pair, no_show, person, slot_ahead
from tests.observability_files import (
    ALERTS,
    alert_rules,
    dashboard,
    panel_queries,
    panels,
    queries,
)
from tests.prometheus_server import running_prometheus
from tests.scraping import Scrapes

# What the issue asks the dashboard to show, and the alerts it asks for.
REQUIRED_PANELS = {
    "Bookings and matches per minute",
    "Match wait p50 and p99",
    "No-show rate",
    "Let-down partner's rebooking time",
    "API error rate (5xx share)",
    "API latency p50 and p99 by route",
    "Workflow task schedule-to-start p99",
    "Worker slots in use",
}
REQUIRED_ALERTS = {
    "ParleyApiErrorRateHigh",
    "ParleyWorkflowTaskScheduleToStartSlow",
    "ParleyPairableRequestsLeftWaiting",
    "ParleyNoShowDecisionsLate",
}
# Prometheus writes `up` for every target itself, and puts `job` and `instance` on every series.
WRITTEN_BY_PROMETHEUS = {"up"}
TARGET_LABELS = {"job", "instance"}
HISTOGRAM_PARTS = ("_bucket", "_count", "_sum")
DURATION = re.compile(r"^\d+[smhd]$")
THRESHOLD = re.compile(r">\s*([0-9.]+)\s*$")


@dataclass
class Exported:
    """One exported sample name: its family's type and every label value seen on it."""

    kind: str
    labels: dict[str, set[str]] = field(default_factory=dict)


def exported(pages: Iterable[str]) -> dict[str, Exported]:
    """Every sample name of the scraped pages (`_bucket`, `_total`... as Prometheus stores them)."""
    found: dict[str, Exported] = {}
    for page in pages:
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                entry = found.setdefault(sample.name, Exported(family.type))
                for label, value in sample.labels.items():
                    entry.labels.setdefault(label, set()).add(value)
    return found


async def a_booking_a_match_a_no_show_and_a_cancel(stack: Stack) -> None:
    """A and B are matched, C books and cancels, B does not come: A is rebooked."""
    a, b, c = (person(stack, name) for name in ("a", "b", "c"))
    slot = await slot_ahead(stack)
    _, _, session = await book_pair(stack, a, b, slot)
    waiting = (await c.book(slot + timedelta(hours=2), "english", "german")).json()
    assert (await c.post(f"/v1/match-requests/{waiting['id']}/cancel")).status_code == 200
    await no_show(stack, a, session, slot)


def _selector_problems(selector: promql.Selector, metric: Exported) -> list[str]:
    """What is wrong with one selector of an exported metric."""
    problems = []
    if selector.name.endswith("_bucket") and metric.kind != "histogram":
        problems.append(f"{selector.name} is not the bucket of a histogram ({metric.kind})")
    if metric.kind in ("counter", "histogram") and not selector.rated:
        problems.append(f"{selector.name} is a {metric.kind}, read without rate() or increase()")
    if metric.kind == "gauge" and selector.rated:
        problems.append(f"{selector.name} is a gauge, read with rate() or increase()")
    for matcher in selector.matchers:
        values = metric.labels.get(matcher.label)
        if values is None:
            if matcher.label not in TARGET_LABELS:
                problems.append(f"{selector.name} has no label {matcher.label!r}")
        elif matcher.op == "=" and matcher.value not in values:
            problems.append(f"{selector.name}{{{matcher.label}}} never reads {matcher.value!r}")
        elif (
            # Buckets are fixed by the code, not by traffic: a regex on them must hit one.
            matcher.label == "le"
            and matcher.op == "=~"
            and not any(re.fullmatch(matcher.value, value) for value in values)
        ):
            problems.append(f"{selector.name}: no bucket le=~{matcher.value!r} in {values}")
    return problems


def problems_of(where: str, expr: str, metrics: dict[str, Exported]) -> list[str]:
    """Everything an expression reads that the scraped metrics do not have."""
    expression = promql.read(expr)
    problems: list[str] = []
    labels_there = set(TARGET_LABELS)
    for selector in expression.selectors:
        if selector.name in WRITTEN_BY_PROMETHEUS:
            labels_there |= TARGET_LABELS
            continue
        metric = metrics.get(selector.name)
        if metric is None:
            problems.append(f"{selector.name} is not exported")
            continue
        labels_there |= set(metric.labels)
        problems += _selector_problems(selector, metric)
    problems += [
        f"groups by {label!r}, which none of its metrics has"
        for label in sorted(expression.grouping_labels - labels_there)
    ]
    return [f"{where}: {problem}" for problem in problems]


def threshold_problems(metrics: dict[str, Exported]) -> list[str]:
    """An alert on a quantile compares it with a bucket boundary, where the estimate is exact."""
    problems = []
    for rule in alert_rules():
        threshold = THRESHOLD.search(rule["expr"])
        if "histogram_quantile" not in rule["expr"] or threshold is None:
            continue
        for selector in promql.read(rule["expr"]).selectors:
            bounds = {float(le) for le in metrics[selector.name].labels.get("le", ())}
            if float(threshold[1]) not in bounds:
                problems.append(
                    f"alert {rule['alert']}: {threshold[1]} is not a bucket of "
                    f"{selector.name} ({sorted(bounds)})"
                )
    return problems


def test_every_panel_has_a_title_and_a_query_and_the_issue_s_panels_are_there() -> None:
    dash = dashboard()
    assert 36 <= dash["schemaVersion"] <= 41  # Grafana 10 and 11
    assert dash["uid"] and dash["title"]
    for panel in panels():
        assert panel["title"], panel
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    assert {panel["title"] for panel in panels()} >= REQUIRED_PANELS
    ids = [panel["id"] for panel in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_the_four_alerts_are_there_each_with_a_duration_a_severity_and_what_to_do() -> None:
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= REQUIRED_ALERTS
    for rule in rules:
        assert DURATION.match(str(rule.get("for", ""))), f"{rule['alert']} has no `for:` duration"
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"]) > 100, rule["alert"]


def test_the_reader_finds_metrics_matchers_grouping_and_rates() -> None:
    expression = promql.read(
        'histogram_quantile(0.99, sum by (le, task_queue) (rate(a_bucket{le=~"5|5\\\\.0"}'
        '[$__rate_interval]))) > 0.2 and on (job) max(b{slot_start="all", x!="y"}) '
        "- sum(increase(c_total[5m] offset 1h)) or vector(0) / count(d) > bool inf"
    )
    names = [(s.name, s.rated) for s in expression.selectors]
    assert names == [("a_bucket", True), ("b", False), ("c_total", True), ("d", False)]
    assert expression.selectors[0].matchers == [promql.Matcher("le", "=~", "5|5\\.0")]
    assert [m.value for m in expression.selectors[1].matchers] == ["all", "y"]
    assert expression.grouping_labels == {"le", "task_queue", "job"}
    with pytest.raises(ValueError):
        promql.read('sum({__name__="x"})')


def test_a_metric_the_app_does_not_export_is_named_as_missing() -> None:
    page = '# TYPE parley_waiting_requests gauge\nparley_waiting_requests{slot_start="all"} 1\n'
    metrics = exported([page])
    assert problems_of("q", 'max(parley_waiting_requests{slot_start="all"})', metrics) == []
    assert problems_of("q", "max(parley_waiting_request)", metrics) == [
        "q: parley_waiting_request is not exported"
    ]
    assert problems_of("q", 'max(parley_waiting_requests{slot="all"})', metrics) == [
        "q: parley_waiting_requests has no label 'slot'"
    ]
    assert problems_of("q", "sum(rate(parley_waiting_requests[5m]))", metrics) == [
        "q: parley_waiting_requests is a gauge, read with rate() or increase()"
    ]


async def test_every_metric_label_and_value_the_dashboard_and_alerts_read_is_exported(
    measured: tuple[Stack, Scrapes],
) -> None:
    stack, scrapes = measured
    await a_booking_a_match_a_no_show_and_a_cancel(stack)

    metrics = exported(await scrapes.pages())
    all_queries = queries()
    problems = [p for where, expr in all_queries.items() for p in problems_of(where, expr, metrics)]
    problems += threshold_problems(metrics)
    print("\n".join(["not exported as the dashboard and alerts read them:", *problems]))
    assert not problems, "\n".join(problems)
    # Every query read at least one metric: the reader did not skip a whole expression.
    for where, expr in all_queries.items():
        assert promql.read(expr).selectors, where


async def test_a_real_prometheus_scraping_the_stack_fills_every_panel_and_evaluates_every_alert(
    measured: tuple[Stack, Scrapes], tmp_path: Path
) -> None:
    stack, scrapes = measured
    worker, api = scrapes.targets()
    targets = {"parley-worker": worker, "parley-api": api}
    async with running_prometheus(tmp_path, targets, ALERTS) as prometheus:
        await prometheus.scraped(times=1)
        await a_booking_a_match_a_no_show_and_a_cancel(stack)
        # Series born in the scenario (the no-show's) need two samples for a rate.
        await prometheus.scraped(times=3)

        health = {
            target["labels"]["job"]: target["health"] for target in await prometheus.targets()
        }
        assert health == {"parley-worker": "up", "parley-api": "up"}
        answers = {where: await prometheus.query(expr) for where, expr in panel_queries().items()}
        empty = [where for where, series in answers.items() if not series]
        assert not empty, f"queries that a real Prometheus answers with no series: {empty}"
        rules = {rule["name"]: rule for rule in await prometheus.rules()}
        assert rules.keys() == {rule["alert"] for rule in alert_rules()}
        for name, rule in rules.items():
            assert rule["health"] == "ok", (name, rule.get("lastError"))
            assert not rule["lastEvaluation"].startswith("0001"), f"{name} never evaluated"
