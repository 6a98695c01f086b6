"""A small PromQL reader for the tests: which metrics, labels and label values an expression asks
for. It knows the parts of PromQL that name things (selectors, their matchers, grouping clauses)
and skips the rest (numbers, durations, strings outside matchers, Grafana's `$variables`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Aggregation operators and other words that stand where a metric could, but are none.
AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile"}
    | {"count_values", "group", "limitk", "limit_ratio"}
)
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = (
    AGGREGATIONS | GROUPING | {"bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"}
)
# Functions over a counter's (or a histogram part's) increase: their argument is never a gauge.
RATES = frozenset({"rate", "increase", "irate"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<matchers>\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})
  | (?P<range>\[[^\]]*\])
  | (?P<variable>\$\{[^}]*\}|\$\w+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:ms|[smhdwy])*)
  | (?P<ident>[A-Za-z_:][\w:]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_MATCHER = re.compile(
    r'\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')\s*,?'
)


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a selector: `label op "value"`."""

    label: str
    op: str
    value: str


@dataclass
class Selector:
    """A metric an expression reads, its matchers, and whether a rate-like function reads it."""

    name: str
    matchers: list[Matcher] = field(default_factory=list)
    rated: bool = False


@dataclass
class Expression:
    """What one PromQL expression names."""

    selectors: list[Selector]
    grouping_labels: set[str]


def _unquote(literal: str) -> str:
    """A PromQL string literal's value (escapes as in Go)."""
    return literal[1:-1].encode().decode("unicode_escape")


def _matchers(block: str) -> list[Matcher]:
    """The matchers inside `{...}`; anything else there is an error, not silently skipped."""
    inner, found, position = block[1:-1], [], 0
    while position < len(inner.rstrip()):
        match = _MATCHER.match(inner, position)
        if match is None:
            raise ValueError(f"cannot read the matchers {block!r}")
        found.append(Matcher(match[1], match[2], _unquote(match[3])))
        position = match.end()
    return found


def read(expr: str) -> Expression:
    """The selectors and grouping labels of a PromQL expression."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(expr) if m.lastgroup != "space"]
    selectors: list[Selector] = []
    grouping: set[str] = set()
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else (None, "")
        if kind == "matchers":
            raise ValueError(f"a selector without a metric name in {expr!r}")
        if kind == "ident" and text in GROUPING and following[1] == "(":
            close = next(i for i in range(index + 1, len(tokens)) if tokens[i][1] == ")")
            grouping |= {t for k, t in tokens[index + 2 : close] if k == "ident"}
            index = close + 1
            continue
        if kind == "ident" and text == "offset":
            index += 2  # its duration
            continue
        if kind == "ident" and text not in KEYWORDS and following[1] != "(":
            rated = index >= 2 and tokens[index - 1][1] == "(" and tokens[index - 2][1] in RATES
            selector = Selector(text, rated=rated)
            if following[0] == "matchers":
                selector.matchers = _matchers(following[1])
                index += 1
            selectors.append(selector)
        index += 1
    return Expression(selectors, grouping)
