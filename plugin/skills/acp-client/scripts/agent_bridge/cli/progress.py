"""Progress while a turn runs: how long it has taken and what the peer is doing, on stderr.

A client's describer turns each message of the turn into an activity ("running `pytest`"), or
None when the message says nothing new. A ticker thread shows the latest activity at most once
a second: on a terminal as one line it rewrites in place, elsewhere as a plain line or an NDJSON
object each time the activity has changed, and every HEARTBEAT_SECONDS while it has not (so a
watcher can tell a long step from a hung call). Turns that end within a second show nothing.
"""
import contextlib
import os
import sys
import threading
import time

from .render import JSON, STREAM, json_line

INTERVAL_SECONDS = 1.0
HEARTBEAT_SECONDS = 10.0
FIRST_ACTIVITY = "working"
ACTIVITY_CHARACTERS = 80
DEFAULT_COLUMNS = 80
# How each style shows an activity: rewriting one terminal line, plain lines, NDJSON lines.
REWRITE, LINES, NDJSON = "rewrite", "lines", "ndjson"


def short(text, limit=ACTIVITY_CHARACTERS):
    """`text` on one line, cut to `limit` characters (a command or a path inside an activity)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def progress_for(name, args, renderer, describe, stderr=None):
    """The Progress the command line asks for, or None. Text mode shows it when stderr is a terminal
    (one line rewritten in place, unless -v lines share it); `--progress` forces it on, as NDJSON
    with --json."""
    stderr = stderr or sys.stderr
    on_terminal = _is_terminal(stderr)
    if renderer.mode == JSON:
        style = NDJSON if args.progress else None
    elif on_terminal and not args.verbose:
        style = REWRITE
    else:
        style = LINES if args.progress or on_terminal else None
    if style is None:
        return None
    # Answer text streamed to the same terminal must not be drawn over.
    shares_terminal = style == REWRITE and renderer.mode == STREAM and _is_terminal(renderer.stdout)
    return Progress(name, describe, style, stderr, renderer.flush if shares_terminal else None)


def turn_hooks(renderer, progress):
    """(on_text, on_message) for a turn's options: the answer text to the renderer, and, when
    progress is shown, each message to it and the text past its line."""
    if progress is None:
        return renderer.delta, None
    return progress.before_text(renderer.delta), progress.saw


class Progress:
    """One call's progress display, started for each turn it waits for. `describe(message)` gives
    an activity or None; `style` is REWRITE, LINES or NDJSON; `show_text`, given when answer text
    streams to the terminal the line is drawn on, shows the text written so far (Renderer.flush)."""

    def __init__(self, name, describe, style, stderr, show_text=None):
        self.name = name
        self.describe = describe
        self.style = style
        self.stderr = stderr
        self.show_text = show_text
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._ticker = None
        self._turn = None
        self._started_at = 0.0
        self.activity = FIRST_ACTIVITY
        self._shown_activity = None
        self._shown_at = 0.0      # elapsed seconds when a line was last written (LINES, NDJSON)
        self._drawn = ""          # the rewritten line now on the terminal
        self._answer_line_open = False

    def saw(self, message):
        """Notes what one message of the turn says the peer is doing (called for every message)."""
        activity = self.describe(message)
        if activity is not None:
            self.activity = activity

    def start(self, turn):
        """Shows the progress of `turn` (its envelope's ids go into NDJSON lines) until stop()."""
        self._turn, self._started_at = turn, time.monotonic()
        self.activity, self._shown_activity, self._answer_line_open = FIRST_ACTIVITY, None, False
        self._stopped.clear()
        self._ticker = threading.Thread(target=self._tick, name=f"{self.name}-progress", daemon=True)
        self._ticker.start()

    def stop(self):
        """Stops showing progress and clears the rewritten line, before the answer or an error is printed."""
        if self._ticker is None:
            return
        self._stopped.set()
        self._ticker.join()
        self._ticker = None
        with self._lock:
            self._clear()

    def before_text(self, write):
        """`write` (which prints answer text on stdout) made to clear the progress line first; the
        line is drawn again only once the answer's line has ended."""
        if self.show_text is None:
            return write

        def write_text(piece):
            with self._lock:
                self._clear()
                write(piece)
                self.show_text()   # on the terminal before the progress line can be drawn again
                if piece:
                    self._answer_line_open = not piece.endswith("\n")
        return write_text

    @contextlib.contextmanager
    def held(self):
        """Keeps the progress line off the terminal meanwhile (while a person is asked a question)."""
        with self._lock:
            self._clear()
            yield

    def _tick(self):
        while not self._stopped.wait(INTERVAL_SECONDS):
            with self._lock:
                self._show(time.monotonic() - self._started_at)

    def _show(self, elapsed):
        activity = self.activity
        if self.style == REWRITE:
            if not self._answer_line_open:
                self._draw(f"[{self.name}] {elapsed:.0f}s {activity}")
            return
        if activity == self._shown_activity and elapsed - self._shown_at < HEARTBEAT_SECONDS:
            return
        self._shown_activity, self._shown_at = activity, elapsed
        if self.style == NDJSON:
            # ASCII-escaped: stays valid JSON whatever encoding stderr has.
            self._write(json_line({"type": "progress", "elapsed_s": round(elapsed, 1), "activity": activity,
                                   **self._turn.envelope.ids}, ascii_only=True))
        else:
            self._write(f"[{self.name}] {elapsed:.0f}s {activity}\n")

    def _draw(self, line):
        # A line longer than the terminal would wrap, and "\r" returns only to the start of its last row.
        line = line[:_columns(self.stderr) - 1]
        self._write("\r" + line + " " * max(0, len(self._drawn) - len(line)))
        self._drawn = line

    def _clear(self):
        if self._drawn:
            self._write("\r" + " " * len(self._drawn) + "\r")
            self._drawn = ""

    def _write(self, text):
        try:
            self.stderr.write(text)
            self.stderr.flush()
        except (BrokenPipeError, ValueError):
            pass   # nobody reads stderr any more: the turn goes on


def _columns(stream):
    try:
        return os.get_terminal_size(stream.fileno()).columns or DEFAULT_COLUMNS   # 0: size never set
    except (AttributeError, ValueError, OSError):
        return DEFAULT_COLUMNS


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
