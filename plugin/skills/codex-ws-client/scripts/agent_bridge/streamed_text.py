"""A turn's text as it streams in, kept so that a turn that ends early still returns it.

Up to SPILL_CHARACTERS stay in memory; beyond that the text goes to an unnamed temporary file
(gone with the process, whatever ends it). A long answer's text then is not held while the
message that completes it, which repeats the whole text, is read and parsed: a 10 MB answer
cost three copies at that moment instead of two.
"""
from __future__ import annotations

from typing import IO, List, Optional

SPILL_CHARACTERS = 1 << 20   # characters held in memory before they go to the file
PIECES_PER_JOIN = 10000      # pieces kept apart before they are joined into one string
WRITE_CHARACTERS = 1 << 16   # characters encoded and written to the file at a time


class StreamedText:
    """Pieces of text in arrival order, with one mark: where the message streaming now began, so
    that its pieces can be replaced by the message's own text when it completes."""

    def __init__(self) -> None:
        self._pieces: List[str] = []
        self._characters = 0          # in _pieces
        self._joined_up_to = 0        # pieces before this index are not joined again
        self._file: Optional[IO[bytes]] = None   # the text before _pieces, as UTF-8
        self._mark = (0, 0, 0)        # (bytes in the file, index in _pieces, characters before it)

    def close(self) -> None:
        """Lets go of the text and its file."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._pieces, self._characters, self._joined_up_to, self._mark = [], 0, 0, (0, 0, 0)

    def append(self, piece: str) -> None:
        self._pieces.append(piece)
        self._characters += len(piece)
        if self._characters > SPILL_CHARACTERS:
            self._spill()
        elif len(self._pieces) - self._joined_up_to > PIECES_PER_JOIN:
            # Thousands of deltas of a few characters take half as much again as their text.
            self._pieces[self._joined_up_to:] = ["".join(self._pieces[self._joined_up_to:])]
            self._joined_up_to += 1

    def mark(self) -> None:
        """The next piece begins a new message."""
        self._mark = (self._file_size(), len(self._pieces), self._characters)
        self._joined_up_to = len(self._pieces)

    def replace_since_mark(self, text: str) -> None:
        """Puts `text` in place of everything appended since the mark."""
        file_size, index, characters = self._mark
        if self._file is not None and self._file_size() > file_size:
            self._file.truncate(file_size)
            self._file.seek(file_size)
        del self._pieces[index:]
        self._characters = characters
        self._joined_up_to = len(self._pieces)
        self.append(text)

    def value(self) -> str:
        if self._file is None:
            return "".join(self._pieces)
        self._file.seek(0)
        spilled = self._file.read()
        return spilled.decode("utf-8", "surrogatepass") + "".join(self._pieces)

    def _spill(self) -> None:
        if self._file is None:
            import tempfile   # only a long answer needs it; kept off a call's start-up
            self._file = tempfile.TemporaryFile()
        file_size, index, _ = self._mark
        if file_size == self._file_size():   # the mark is among the pieces: keep it at its place in the file
            self._write(self._pieces[:index])
            self._mark = (self._file_size(), 0, 0)
            del self._pieces[:index]
        self._write(self._pieces)
        self._pieces, self._characters, self._joined_up_to = [], 0, 0

    def _write(self, pieces: List[str]) -> None:
        """Writes in slices: encoding a 10 MB text at once would take 10 MB more for a moment, which
        the process keeps."""
        assert self._file is not None
        text = "".join(pieces)
        for start in range(0, len(text), WRITE_CHARACTERS):
            self._file.write(text[start:start + WRITE_CHARACTERS].encode("utf-8", "surrogatepass"))

    def _file_size(self) -> int:
        return 0 if self._file is None else self._file.tell()
