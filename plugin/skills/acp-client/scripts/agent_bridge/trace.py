"""Diagnostics: -v lifecycle lines and -vv raw traffic on stderr, and an NDJSON trace file."""
import json
import sys
import threading
import time

from .outcome import BadArguments


def _timestamp():
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

    def __init__(self, name, verbosity=0, ndjson_path=None, stderr=None):
        self.name = name
        self.verbosity = verbosity
        self.stderr = stderr or sys.stderr
        self.file = None
        self.lock = threading.Lock()
        if ndjson_path:
            try:
                self.file = open(ndjson_path, "a", encoding="utf-8")
            except OSError as error:
                raise BadArguments(f"cannot write --ndjson-file {ndjson_path}: {error.strerror}") from None

    def info(self, message):
        """A lifecycle line, shown with -v."""
        if self.verbosity >= 1:
            self._say(message)

    def warn(self, message):
        """A line shown whatever the verbosity."""
        self._say(message)

    def sent(self, raw):
        self._traffic("out", ">", raw, True)

    def received(self, raw, is_json=True):
        self._traffic("in", "<", raw, is_json)

    def event(self, kind, **data):
        """A record that is not a protocol message (a process start, a stderr line)."""
        if self.file:
            self._write_line(json.dumps({"ts": _timestamp(), "dir": "event", "event": kind, **data},
                                        ensure_ascii=False))

    def close(self):
        with self.lock:
            if self.file:
                self.file.close()
                self.file = None

    def _say(self, message):
        self._print(f"[{self.name}] {message}")

    def _print(self, line):
        with self.lock:
            try:
                print(line, file=self.stderr, flush=True)
            except BrokenPipeError:
                pass   # nobody reads stderr any more; the trace file still has everything

    def _traffic(self, direction, arrow, raw, is_json):
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

    def _write_line(self, line):
        for character, escaped in LINE_BREAKS_IN_STRINGS.items():
            if character in line:
                line = line.replace(character, escaped)
        with self.lock:
            if self.file:
                self.file.write(line + "\n")
                self.file.flush()
