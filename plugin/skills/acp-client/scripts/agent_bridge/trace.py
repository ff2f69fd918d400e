"""Diagnostics: lifecycle lines (verbosity 1) and raw traffic (verbosity 2) on stderr, and an NDJSON
trace file."""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, Optional, TextIO

from .outcome import BadArguments


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


# Line breaks JSON leaves as they are in strings, but a reader of lines would split on.
LINE_BREAKS_IN_STRINGS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


class Tracer:
    """Writes what the client does and every message it sends or receives.

    Each NDJSON line is {"ts", "dir": "out"|"in"|"event", "msg" | "raw" | "event"};
    lines are flushed as they are written, so a trace survives a crash. Reader threads write
    here as well as the main thread, a whole line at a time.
    """

    def __init__(self, name: str, verbosity: int = 0, ndjson_file: Optional[str] = None,
                 stderr: Optional[TextIO] = None) -> None:
        """`ndjson_file`: the path of the trace file, appended to (BadArguments if it cannot be)."""
        self.name = name
        self.verbosity = verbosity
        self.stderr = stderr or sys.stderr
        self.file: Optional[TextIO] = None
        self.lock = threading.Lock()
        if ndjson_file:
            try:
                self.file = open(ndjson_file, "a", encoding="utf-8")
            except OSError as error:
                raise BadArguments(f"cannot write the trace file {ndjson_file}: {error.strerror}",
                                   setting="ndjson_file") from None

    def info(self, message: str) -> None:
        """A lifecycle line, shown at verbosity 1 and above."""
        if self.verbosity >= 1:
            self._say(message)

    def warn(self, message: str) -> None:
        """A line shown whatever the verbosity."""
        self._say(message)

    def sent(self, raw: str) -> None:
        self._traffic("out", ">", raw, True)

    def received(self, raw: str, is_json: bool = True) -> None:
        self._traffic("in", "<", raw, is_json)

    def event(self, kind: str, **data: Any) -> None:
        """A record that is not a protocol message (a process start, a stderr line)."""
        if self.file:
            self._write_line(json.dumps({"ts": _timestamp(), "dir": "event", "event": kind, **data},
                                        ensure_ascii=False))

    def close(self) -> None:
        with self.lock:
            if self.file:
                self.file.close()
                self.file = None

    def _say(self, message: str) -> None:
        self._print(f"[{self.name}] {message}")

    def _print(self, line: str) -> None:
        with self.lock:
            try:
                print(line, file=self.stderr, flush=True)
            except BrokenPipeError:
                pass   # nobody reads stderr any more; the trace file still has everything

    def _traffic(self, direction: str, arrow: str, raw: str, is_json: bool) -> None:
        if self.verbosity >= 2:
            self._print(f"{arrow} {raw}")
        if not self.file:
            return
        head = '{"ts":"%s","dir":"%s",' % (_timestamp(), direction)
        if is_json and "\n" not in raw:
            # The message is already JSON text: embed it rather than parse and re-encode it.
            self._write_line(head + '"msg":' + raw + "}")
        else:
            self._write_line(head + '"raw":' + json.dumps(raw, ensure_ascii=False) + "}")

    def _write_line(self, line: str) -> None:
        for character, escaped in LINE_BREAKS_IN_STRINGS.items():
            if character in line:
                line = line.replace(character, escaped)
        with self.lock:
            if self.file:
                self.file.write(line + "\n")
                self.file.flush()
