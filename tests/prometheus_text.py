"""A strict reader of the Prometheus text exposition format (0.0.4), for tests.

Stricter than Prometheus itself: every family has exactly one HELP then one
TYPE line before its samples, samples of a family are contiguous, a counter's
name ends in ``_total``, no series appears twice, and every value is a number.
Returns {family: (type, {labels: value})} with labels as a sorted tuple of
(name, value) pairs.
"""

from __future__ import annotations

import math
import re
from typing import Final

NAME: Final = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL: Final = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE: Final = re.compile(rf"^({NAME})(?:\{{((?:{LABEL},?)*)\}})? (\S+)$")
TYPES: Final = {"counter", "gauge", "histogram", "summary", "untyped"}

Labels = tuple[tuple[str, str], ...]
Families = dict[str, tuple[str, dict[Labels, float]]]


class ExpositionError(AssertionError):
    """The text breaks the format (or this reader's stricter rules)."""


def parse(text: str) -> Families:
    if not text.endswith("\n"):
        raise ExpositionError("the text must end with a newline")
    families: Families = {}
    current: str | None = None
    helped: str | None = None
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {number}: {line!r}"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            if not re.fullmatch(NAME, name) or not help_text or name in families:
                raise ExpositionError(f"bad or repeated HELP at {where}")
            helped, current = name, None
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            if name != helped or kind not in TYPES:
                raise ExpositionError(f"TYPE must follow its HELP at {where}")
            if kind == "counter" and not name.endswith("_total"):
                raise ExpositionError(f"a counter's name must end in _total at {where}")
            families[name] = (kind, {})
            current, helped = name, None
        elif line.startswith("#") or not line:
            raise ExpositionError(f"unexpected line at {where}")
        else:
            match = SAMPLE.match(line)
            if match is None:
                raise ExpositionError(f"not a sample at {where}")
            name, label_text, value_text = match.group(1), match.group(2), match.group(5)
            if name != current:
                raise ExpositionError(f"sample outside its family's block at {where}")
            labels = tuple(sorted(re.findall(LABEL, label_text or "")))
            if len({k for k, _ in labels}) != len(labels):
                raise ExpositionError(f"repeated label at {where}")
            try:
                value = float(value_text)
            except ValueError:
                raise ExpositionError(f"not a number at {where}") from None
            if math.isnan(value):
                raise ExpositionError(f"NaN at {where}")
            series = families[name][1]
            if labels in series:
                raise ExpositionError(f"repeated series at {where}")
            series[labels] = value
    return families


def value(families: Families, name: str, **labels: str) -> float:
    """The sample of ``name`` with exactly these labels."""
    return families[name][1][tuple(sorted(labels.items()))]
