"""The fan-out benchmark's baseline queue keeps the relay Outbox's frame rules.

``benchmarks.relay_fanout`` compares the relay's CPU per delivered message
with a plain relay's; the comparison is fair only if both queue and drop
frames alike. Hypothesis offers both the same frames and pops alike.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.fanout_servers import FrameQueue
from relay.outbox import Outbox, Verdict

#: (size in KiB, key frame?) offers, or None for "pop one".
STEPS = st.lists(
    st.one_of(st.none(), st.tuples(st.integers(1, 6 * 1024), st.booleans())), max_size=60
)


@given(STEPS)
def test_baseline_queue_queues_and_drops_like_the_outbox(
    steps: list[tuple[int, bool] | None],
) -> None:
    outbox = Outbox(lambda: None)
    queue = FrameQueue()
    for number, step in enumerate(steps):
        if step is None:
            popped = queue.frames.popleft() if queue.frames else None
            if popped is not None:
                queue.bytes -= len(popped)
            assert outbox.pop() == popped
            continue
        kib, keyframe = step
        data = number.to_bytes(4, "big") * (kib * 256)
        queued = outbox.put_frame(data, keyframe=keyframe) is Verdict.QUEUED
        assert queue.put(data, keyframe) is queued
        stats = outbox.statistics()
        assert stats.frames_queued == len(queue.frames)
        assert stats.frame_bytes_queued == queue.bytes
        assert stats.waiting_for_keyframe is queue.need_key
