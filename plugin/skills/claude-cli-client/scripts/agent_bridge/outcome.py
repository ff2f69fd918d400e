"""Exit codes, the errors that map onto them, and the result envelope.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, TypedDict, cast

from .streamed_text import StreamedText

if TYPE_CHECKING:
    from .review import Review

EXIT_OK = 0
EXIT_TURN_FAILED = 1
EXIT_BAD_ARGUMENTS = 2
EXIT_CONNECTION = 3
EXIT_TIMEOUT = 4
EXIT_PROTOCOL = 5
EXIT_INTERRUPTED = 130

# The envelope's shape: raised when a field changes its meaning or goes (CHANGELOG.md says how).
SCHEMA_VERSION = 1

# How a call ended, as the envelope's status says it, and its exit code: the one table of both.
EXIT_CODE_OF_STATUS = {
    "completed": EXIT_OK,
    "failed": EXIT_TURN_FAILED,
    "bad_arguments": EXIT_BAD_ARGUMENTS,
    "connection_failed": EXIT_CONNECTION,
    "timeout": EXIT_TIMEOUT,
    "inProgress": EXIT_TIMEOUT,   # the wait ended, not the turn (a job just started says 0 itself)
    "parse_error": EXIT_PROTOCOL,
    "interrupted": EXIT_INTERRUPTED,
}
# The statuses a peer reports for a finished turn; a turn that ends with any other word failed.
TURN_STATUSES = ("completed", "failed", "interrupted")


class ClientError(Exception):
    """An error that ends the call; its `status` (and the exit code that status earns) go in the
    envelope. `setting` names the library parameter whose value is behind it (e.g. "timeout");
    `way_out` the parameter that the call lacks and would get past it (e.g. "token_file"), for a
    caller that wants to point at it. Both are library names: a command line maps them to its
    options."""

    status = "failed"

    def __init__(self, message: str = "", setting: Optional[str] = None, way_out: Optional[str] = None) -> None:
        super().__init__(message)
        self.setting = setting
        self.way_out = way_out

    @property
    def exit_code(self) -> int:
        return EXIT_CODE_OF_STATUS[self.status]


class TurnFailed(ClientError):
    pass


class BadArguments(ClientError):
    status = "bad_arguments"


class ConnectionFailed(ClientError):
    status = "connection_failed"


class PeerExited(ConnectionFailed):
    """The peer's process ended: its exit status and the last lines it wrote on stderr."""

    def __init__(self, message: str, returncode: Optional[int] = None, stderr_tail: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = list(stderr_tail)


class TimedOut(ClientError):
    status = "timeout"


class StillRunning(TimedOut):
    """The wait for a turn ended, not the turn: it is still running and can be collected later."""
    status = "inProgress"


class ParseError(ClientError):
    status = "parse_error"


class Interrupted(ClientError):
    status = "interrupted"


class EnvelopeDict(TypedDict, total=False):
    """The envelope as `--json` prints it and `Session.ask` returns it (envelope.schema.json of each
    client has every field). `schema_version` comes first; a client adds fields of its own."""
    schema_version: int
    thread_id: Optional[str]
    turn_id: Optional[str]
    session_id: Optional[str]
    status: str
    exit_code: Optional[int]
    text: str
    error: str
    notifications: List[Any]
    metrics: Dict[str, Any]
    review: Review
    job_id: str


class Envelope:
    """What one turn produced: ids, status, text, error, notifications, metrics.

    Streamed text is kept as a StreamedText until the peer's final text replaces it.
    """

    def __init__(self, **ids: Optional[str]) -> None:
        self.ids: Dict[str, Optional[str]] = dict(ids)   # thread_id, turn_id, session_id, ...
        self.status = "inProgress"
        self.exit_code: Optional[int] = None
        self.error: Optional[str] = None
        self.failure: Optional[ClientError] = None       # the error that ended the call, if one did
        self.notifications: List[Any] = []
        self.metrics: Dict[str, Any] = {}
        self.extra: Dict[str, Any] = {}                  # client-specific fields
        self._streamed = StreamedText()
        self._final_text: Optional[str] = None

    @property
    def text(self) -> str:
        if self._final_text is not None:
            return self._final_text
        return self._streamed.value()

    def add_text(self, piece: str) -> None:
        self._streamed.append(piece)

    def mark_message_start(self) -> None:
        """The next piece of text begins a message, whose text may replace its pieces (below)."""
        self._streamed.mark()

    def replace_message_text(self, text: str) -> None:
        """Puts a completed message's own text in place of its pieces (one string, not thousands)."""
        self._streamed.replace_since_mark(text)

    def set_final_text(self, text: str) -> None:
        """The peer's authoritative text for the turn (it wins over the streamed text, which is dropped)."""
        self._final_text = text
        self._streamed.close()

    def finish(self, status: str, error: Optional[str] = None) -> None:
        """Record how the peer says the turn ended; only `completed` is success."""
        if status not in TURN_STATUSES:
            error = error or f"turn ended with an unexpected status {status!r}"
            status = "failed"
        self.status = status
        self.exit_code = EXIT_CODE_OF_STATUS[status]
        if error:
            self.error = error
        elif self.exit_code != EXIT_OK:
            self.error = f"turn ended with status {status}"

    def fail(self, error: ClientError) -> None:
        """Record an error that ends the call, keeping the text so far."""
        self.status = error.status
        self.exit_code = error.exit_code
        self.error = str(error)
        self.failure = error

    def to_dict(self) -> EnvelopeDict:
        result: Dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        result.update(self.ids)
        result.update(status=self.status, exit_code=self.exit_code, text=self.text)
        if self.error:
            result["error"] = self.error
        if self.notifications:
            result["notifications"] = self.notifications
        if self.metrics:
            result["metrics"] = self.metrics
        result.update(self.extra)
        return cast(EnvelopeDict, result)
