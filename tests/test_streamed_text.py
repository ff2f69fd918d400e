"""A long answer held and printed: the streamed text held in memory stays bounded and comes back whole; the
envelope of a long answer is printed in slices, as the same line."""
import io
import json
import sys

import pytest

from tests.helpers import CODEX_SCRIPT

sys.path.insert(0, str(CODEX_SCRIPT.parent))
from agent_bridge.cli.render import JSON, WRITE_SLICE, Renderer, json_line  # noqa: E402
from agent_bridge.streamed_text import SPILL_CHARACTERS, StreamedText  # noqa: E402

PIECE = "0123456789" * 9 + "abcdefgh\n"   # 99 characters, as a model's delta


def held(text):
    return sum(map(len, text._pieces))


def test_a_long_text_is_held_in_memory_only_up_to_the_spill_size():
    text, sent = StreamedText(), []
    most_held = 0
    for count in range(3 * SPILL_CHARACTERS // len(PIECE)):
        text.append(PIECE)
        sent.append(PIECE)
        if count % 100 == 0:
            most_held = max(most_held, held(text))
    assert 0 < most_held <= SPILL_CHARACTERS
    assert text.value() == "".join(sent)
    text.close()
    assert text.value() == "" and held(text) == 0


def test_a_message_replaced_after_it_spilled_keeps_the_text_before_it():
    text = StreamedText()
    text.append("first message\n\n")
    text.mark()
    for _ in range(2 * SPILL_CHARACTERS // len(PIECE)):
        text.append(PIECE)
    text.replace_since_mark("the second message, whole")
    assert text.value() == "first message\n\nthe second message, whole"
    text.append(" and more")
    assert text.value().endswith("whole and more")


def test_a_message_that_began_after_a_spill_is_replaced_in_the_file():
    text, before = StreamedText(), PIECE * (SPILL_CHARACTERS // len(PIECE) + 5)
    text.append(before)   # spilled at once
    text.mark()
    text.append("pie")
    text.append("ces")
    long_text = "x" * (SPILL_CHARACTERS + 1)
    text.replace_since_mark(long_text)
    assert text.value() == before + long_text and held(text) == 0
    text.replace_since_mark("short")
    assert text.value() == before + "short"


def test_characters_of_every_width_and_lone_surrogates_come_back_from_the_file():
    text = StreamedText()
    pieces = ["é", "中文", "😀", "\ud800", "plain"] * (SPILL_CHARACTERS // 8)
    for piece in pieces:
        text.append(piece)
    assert text._file is not None and text.value() == "".join(pieces)


class Encoded(io.StringIO):
    """A stdout of the given encoding."""

    def __init__(self, encoding):
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self):
        return self._encoding


@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_an_envelope_with_a_long_text_prints_as_json_line_makes_it(encoding):
    """--json prints a long text in slices, never as one JSON string: the same line, byte for byte."""
    around_a_slice = "a\"b\\c\n\u2028é😀\ud800\u2029"
    long_text = "x" * (WRITE_SLICE - 3) + around_a_slice + "y" * WRITE_SLICE + around_a_slice
    envelope = {"schema_version": 1, "thread_id": "t", "status": "completed", "text": long_text,
                "notifications": [{"method": "warning", "message": "é\u2028"}], "review": {"text": "short"},
                "error": "e" * (WRITE_SLICE + 1)}
    stdout = Encoded(encoding)
    Renderer("client", JSON, stdout=stdout).print_json(envelope)
    assert stdout.getvalue() == json_line(envelope, ascii_only=encoding == "ascii")
    assert json.loads(stdout.getvalue()) == envelope


def test_a_list_prints_as_json_line_makes_it():
    """--threads prints a list."""
    stdout = Encoded("utf-8")
    listed = [{"id": "thread-1", "preview": "é\u2028"}, {"id": "thread-2", "preview": ""}]
    Renderer("client", JSON, stdout=stdout).print_json(listed)
    assert stdout.getvalue() == json_line(listed)
