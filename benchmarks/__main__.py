"""Run every benchmark with its defaults: ``python -m benchmarks [NAME ...]``.

A benchmark is a module of this package, listed in ``BENCHMARKS``, with a
``main()`` that reads its options from ``sys.argv``; modules that do not exist
(yet) are skipped. Each runs with no options of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Final, cast

#: In the order they run: the quick micro-benchmark first.
BENCHMARKS: Final = (
    "codec_micro",
    "e2e_latency",
    "control_latency",
    "idle_cpu",
    "browser_decode",
    "vnc_compare",
    "scene_replay",
    "relay_fanout",
)


@contextlib.contextmanager
def argv_of(program: str) -> Iterator[None]:
    """Make ``sys.argv`` hold only ``program`` while a benchmark runs."""
    saved = sys.argv
    sys.argv = [program]
    try:
        yield
    finally:
        sys.argv = saved


def find_main(name: str) -> Callable[[], object] | None:
    """The ``main`` of ``benchmarks.<name>``, or None if there is no such module."""
    module_name = f"{__package__ or 'benchmarks'}.{name}"
    if importlib.util.find_spec(module_name) is None:
        return None
    main = getattr(importlib.import_module(module_name), "main", None)
    return cast("Callable[[], object] | None", main if callable(main) else None)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run screenrelay's benchmarks."
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    names = parser.parse_args(argv).names or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    for name in names:
        bench = find_main(name)
        if bench is None:
            print(f"== {name}: not found, skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        with argv_of(f"python -m benchmarks.{name}"):
            bench()
        print(flush=True)


if __name__ == "__main__":
    main()
