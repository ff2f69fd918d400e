"""Where a turn's output goes: streamed text, the final text once, or a JSON envelope; and the
command-line pieces both clients share (output options, value types, argument errors)."""
import argparse
import json
import math
import os
import sys
import time

from ..outcome import BadArguments, Envelope
from ..review import format_review
from ..trace import LINE_BREAKS_IN_STRINGS
from .review_options import is_review

STREAM, FINAL, JSON = "stream", "final", "json"
WRITE_SLICE = 1 << 20   # characters handed to stdout at once
FLUSH_INTERVAL = 0.05   # seconds: streamed text is written at most this often while more keeps coming


class Renderer:
    """Shows turns to the caller; with `max_text`, shows at most that many characters of each
    answer and keeps the whole text in `out_path` (or a temporary file the envelope names)."""

    def __init__(self, name, mode, out_path=None, summary=False, max_text=None, stdout=None, stderr=None):
        self.name = name
        self.mode = mode
        self.out_path = out_path
        self.summary = summary
        self.max_text = max_text
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        # JSON escapes what stdout cannot encode (e.g. PYTHONIOENCODING=ascii), so it stays exact.
        self.ascii_only = not _encodes_unicode(self.stdout)
        self.streamed = 0
        self.ends_with_newline = True
        self.pending = []   # streamed pieces not yet written: see `flush_soon`
        self.written_at = 0.0

    def needs_text(self):
        """False when the text only streams to stdout: nothing later needs a copy of it."""
        return self.mode != STREAM or self.out_path is not None or self.max_text is not None

    def delta(self, piece):
        """A piece of assistant text, printed at once in stream mode (up to `max_text` characters)."""
        if self.mode != STREAM or not piece:
            return
        if self.max_text is not None:
            piece = piece[:max(0, self.max_text - self.streamed)]
            if not piece:
                return
        self.pending.append(piece)
        self.streamed += len(piece)
        self.ends_with_newline = piece.endswith("\n")

    def flush(self):
        """Writes the streamed text held so far."""
        if self.pending:
            self.write("")

    def flush_soon(self):
        """Writes the streamed text held so far unless text was written less than FLUSH_INTERVAL
        ago; then returns the seconds after which it wants to be called again. Set as the Inbox's
        `before_wait`: a stream of many small deltas is written in a few large pieces (even with
        PYTHONUNBUFFERED set, each write is a system call), and none waits unseen for long."""
        if not self.pending:
            return None
        since_written = time.monotonic() - self.written_at
        if since_written < FLUSH_INTERVAL:
            return FLUSH_INTERVAL - since_written
        self.write("")
        return None

    def turn_done(self, envelope):
        # A review reads as its findings; --json has them in `review`, next to the text.
        text = format_review(envelope.extra["review"]) if "review" in envelope.extra and self.mode != JSON \
            else envelope.text
        saved_to = self._save_text(text, envelope)
        shown, cut_note = text, ""
        if self.max_text is not None and len(text) > self.max_text:
            cut_note = f"[truncated: {self.max_text} of {len(text)} characters shown; full text in {saved_to}]"
            shown = text[:self.max_text] + "\n" + cut_note
            envelope.extra.update(text_truncated=True, text_file=saved_to)
        if self.mode == STREAM:
            self.write(("" if self.ends_with_newline else "\n") + (cut_note + "\n" if cut_note else ""))
        elif self.mode == FINAL and shown:
            self.write(shown if shown.endswith("\n") else shown + "\n")
        elif self.mode == JSON:
            result = envelope.to_dict()
            result["text"] = shown
            self.print_json(result)
        self.streamed, self.ends_with_newline = 0, True
        if envelope.error:
            self.tell(f"{self.name}: error: {envelope.error}")
        if self.summary:
            self._print_summary(envelope)

    def print_json(self, value):
        """`value` as json_line makes it; of a dict (an envelope), a long string is written in slices:
        the JSON text of a 10 MB answer is never made whole, one more copy as large as the answer."""
        if not isinstance(value, dict):
            self.write(json_line(value, self.ascii_only))
            return
        parts = ["{"]
        for index, (key, item) in enumerate(value.items()):
            parts.append((", " if index else "") + json_text(key, self.ascii_only) + ": ")
            if isinstance(item, str) and len(item) > WRITE_SLICE:
                self.write("".join(parts) + '"')
                for start in range(0, len(item), WRITE_SLICE):
                    self.write(json_text(item[start:start + WRITE_SLICE], self.ascii_only)[1:-1])
                parts = ['"']
            else:
                parts.append(json_text(item, self.ascii_only))
        parts.append("}\n")
        self.write("".join(parts))

    def write(self, text):
        """Writes to stdout, after any streamed text still held; once its reader has gone (`| head`),
        the rest is dropped and the call goes on."""
        if self.pending:
            text = "".join(self.pending) + text
            self.pending.clear()
        self.written_at = time.monotonic()
        try:
            # In slices: stdout encodes what it is given at once, a copy as large as the text.
            for start in range(0, len(text), WRITE_SLICE):
                self.stdout.write(text[start:start + WRITE_SLICE])
            self.stdout.flush()
        except BrokenPipeError:
            self._drop_stdout()

    def tell(self, line):
        """A line on stderr for the person or agent watching."""
        try:
            print(line, file=self.stderr, flush=True)
        except BrokenPipeError:
            pass

    def _drop_stdout(self):
        devnull = open(os.devnull, "w")
        try:
            # Also the file descriptor, so Python's own flush at exit does not hit the closed pipe.
            os.dup2(devnull.fileno(), self.stdout.fileno())
        except (OSError, ValueError):
            pass
        self.stdout = devnull

    def _save_text(self, text, envelope):
        """Writes the whole text to --out, or, when it will be cut, to a temporary file; returns the path."""
        if self.out_path and (text or envelope.status == "completed"):
            return self._write(self.out_path, text)
        if self.max_text is not None and len(text) > self.max_text:
            import tempfile   # rarely needed; kept off the start-up path
            handle, path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".txt")
            os.close(handle)
            return self._write(path, text)
        return None

    def _write(self, path, text):
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:
            self.tell(f"{self.name}: error: cannot write {path}: {error.strerror}")
            return None
        return path

    def _print_summary(self, envelope):
        parts = [f"status={envelope.status}"]
        parts += [f"{key}={value}" for key, value in envelope.metrics.items() if value is not None]
        self.tell(f"[{self.name}] summary: " + " ".join(parts))


# Characters that some line readers (Python's str.splitlines, JavaScript) take as line breaks.


def json_line(value, ascii_only=False):
    """One line of JSON, UTF-8 kept readable, that no line reader can split."""
    return json_text(value, ascii_only) + "\n"


def json_text(value, ascii_only=False):
    """JSON without line breaks, UTF-8 kept readable (json_line without its line end)."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    for character, escaped in LINE_BREAKS_IN_STRINGS.items():
        if character in text:
            text = text.replace(character, escaped)
    return text


def add_output_options(parser):
    """The output options both clients share."""
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON envelope per turn")
    output.add_argument("--no-stream", action="store_true", help="print the final text once, at the end")
    output.add_argument("--out", metavar="FILE", help="also write the final text to FILE")
    output.add_argument("--summary", action="store_true", help="print status, metrics and latency to stderr")
    output.add_argument("--max-text", type=characters, metavar="N",
                        help="show at most N characters of the answer; the whole text goes to --out or a file "
                             "named in the envelope (text_file)")
    output.add_argument("--progress", action="store_true",
                        help="show what the peer is doing on stderr (at most once a second) even when stderr is "
                             "not a terminal; with --json as NDJSON lines")


def renderer_for(name, args, always_json=False):
    """The Renderer the output options ask for (--json wins over --no-stream); JSON when `always_json`."""
    for stream in (sys.stdout, sys.stderr):
        # Text that the terminal's encoding cannot show is escaped rather than ending the call.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    # A review is shown once, at the end, as findings.
    mode = JSON if args.json or always_json else FINAL if args.no_stream or is_review(args) else STREAM
    return Renderer(name, mode, args.out, args.summary, args.max_text)


def _encodes_unicode(stream):
    try:
        "\u00e9\u2028\U0001f600".encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, given the width argparse would find with shutil: argparse makes one for every
    add_argument, and its `import shutil` (with shutil's compression modules) was a tenth of a call's start-up."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        super().__init__(prog, indent_increment, max_help_position, width or terminal_columns() - 2)


def terminal_columns():
    """The terminal's width as shutil.get_terminal_size finds it: $COLUMNS, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are BadArguments, so that a bad command line ends like any bad argument."""

    def __init__(self, **options):
        super().__init__(formatter_class=HelpFormatter, **options)

    def error(self, message):
        raise BadArguments(f"{message} (see --help)")


def report_bad_command_line(name, argv, error, **ids):
    """Ends a call whose command line did not parse: one line on stderr, and with --json an envelope."""
    json_mode = "--json" in (sys.argv[1:] if argv is None else argv)
    envelope = Envelope(**ids)
    envelope.fail(error)
    Renderer(name, JSON if json_mode else FINAL).turn_done(envelope)
    return envelope.exit_code


def seconds(text):
    """An argparse type: a finite number of seconds, 0 or more."""
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 (none) or a positive number of seconds")
    return value


def characters(text):
    """An argparse type: a count of characters, 0 or more."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 or more characters")
    return value


def check_output_options(args):
    if args.out:
        check_writable(args.out, "--out")


def check_writable(path, option):
    """Fails before any turn starts rather than lose the answer at the end."""
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise BadArguments(f"cannot write {option} {path}: {error.strerror}") from None
