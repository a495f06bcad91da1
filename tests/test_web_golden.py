"""The browser viewer's expectations (tests/golden/*.json) are up to date.

viewer_app/web/test/ holds the JavaScript client to these files; they are
made by tests/golden/make_web_expectations.py from the golden examples and
this package's parsers. If this fails, a golden file or a parsing rule
changed: regenerate them (see that script) and rerun the JS tests.
"""

from __future__ import annotations

import json

from tests.golden import make_web_expectations as expectations


def test_messages_json_is_up_to_date() -> None:
    on_disk = expectations.MESSAGES_PATH.read_text(encoding="ascii")
    assert on_disk == expectations.render(expectations.build_all_messages())


def test_frame_payload_json_is_up_to_date() -> None:
    on_disk = expectations.FRAME_PATH.read_text(encoding="ascii")
    assert on_disk == expectations.render(expectations.build_frame())


def test_frame_move_payload_json_is_up_to_date() -> None:
    on_disk = expectations.FRAME_MOVE_PATH.read_text(encoding="ascii")
    assert on_disk == expectations.render(expectations.build_move_frame())


def test_every_golden_message_and_mutation_class_is_covered() -> None:
    messages = json.loads(expectations.MESSAGES_PATH.read_text(encoding="ascii"))["messages"]
    assert len(messages) == 28
    for stem, entry in messages.items():
        size = len(bytes.fromhex(entry["hex"]))
        verdicts = entry["mutations"]
        assert len(verdicts["truncated"]) == size, stem
        assert len(verdicts["extended"]) == 1, stem
        for name in ("set00", "setff", "xor01", "xor80"):
            assert len(verdicts[name]) == size, (stem, name)


def test_camel_case_names() -> None:
    assert expectations.camel("client_version") == "clientVersion"
    assert expectations.camel("member_id") == "memberId"
    assert expectations.camel("proto") == "proto"


def test_frame_jpeg_payload_json_is_up_to_date() -> None:
    on_disk = expectations.FRAME_JPEG_PATH.read_text(encoding="ascii")
    assert on_disk == expectations.render(expectations.build_jpeg_frame())


def test_frame_palette_payload_json_is_up_to_date() -> None:
    on_disk = expectations.FRAME_PALETTE_PATH.read_text(encoding="ascii")
    assert on_disk == expectations.render(expectations.build_palette_frame())
