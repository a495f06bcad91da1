"""A Hypothesis strategy shared by the parsers' robustness tests."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def mutants(draw: st.DrawFn, genuine: bytes, changes: int = 3) -> bytes:
    """``genuine`` with up to ``changes`` bytes overwritten, then cut at a
    random length (possibly all of it, or one past its end: nothing cut)."""
    data = bytearray(genuine)
    for index, value in draw(
        st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=changes)
    ):
        data[index] = value
    return bytes(data[: draw(st.integers(0, len(data) + 1))])
