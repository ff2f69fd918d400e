"""Exit codes, the errors that map onto them, and the result envelope.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.
"""

EXIT_OK = 0
EXIT_TURN_FAILED = 1
EXIT_BAD_ARGUMENTS = 2
EXIT_CONNECTION = 3
EXIT_TIMEOUT = 4
EXIT_PROTOCOL = 5
EXIT_INTERRUPTED = 130

# A finished turn's status, as the peer reports it, and the exit code it earns.
# Anything else (inProgress, an unknown word) is not success.
TURN_STATUS_EXIT = {
    "completed": EXIT_OK,
    "failed": EXIT_TURN_FAILED,
    "interrupted": EXIT_INTERRUPTED,
}


class ClientError(Exception):
    """An error that ends the call; `status` and `exit_code` go in the envelope. `setting` names
    the library option whose value is behind it (e.g. "timeout"); `way_out` the option that the
    call lacks and would get past it (e.g. "token_file"), for a caller that wants to point at it."""

    status = "failed"
    exit_code = EXIT_TURN_FAILED

    def __init__(self, message="", setting=None, way_out=None):
        super().__init__(message)
        self.setting = setting
        self.way_out = way_out


class TurnFailed(ClientError):
    pass


class BadArguments(ClientError):
    status = "bad_arguments"
    exit_code = EXIT_BAD_ARGUMENTS


class ConnectionFailed(ClientError):
    status = "connection_failed"
    exit_code = EXIT_CONNECTION


class PeerExited(ConnectionFailed):
    """The peer's process ended: its exit status and the last lines it wrote on stderr."""

    def __init__(self, message, returncode=None, stderr_tail=()):
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = list(stderr_tail)


class TimedOut(ClientError):
    status = "timeout"
    exit_code = EXIT_TIMEOUT


class StillRunning(TimedOut):
    """The wait for a turn ended, not the turn: it is still running and can be collected later."""
    status = "inProgress"


class ParseError(ClientError):
    status = "parse_error"
    exit_code = EXIT_PROTOCOL


class Interrupted(ClientError):
    status = "interrupted"
    exit_code = EXIT_INTERRUPTED


PIECES_PER_JOIN = 10000   # streamed pieces of text kept apart before they are joined into one string


class Envelope:
    """What one turn produced: ids, status, text, error, notifications, metrics.

    Text arrives in pieces; they are joined once, when asked for, so a
    multi-megabyte answer is not copied on every delta.
    """

    def __init__(self, **ids):
        self.ids = dict(ids)            # thread_id, turn_id, session_id, ...
        self.status = "inProgress"
        self.exit_code = None
        self.error = None
        self.failure = None             # the ClientError that ended the call, if one did
        self.notifications = []
        self.metrics = {}
        self.extra = {}                 # client-specific fields
        self._pieces = []
        self._joined_up_to = 0          # pieces before this index are not joined again
        self._final_text = None

    @property
    def text(self):
        if self._final_text is not None:
            return self._final_text
        return "".join(self._pieces)

    def add_text(self, piece):
        self._pieces.append(piece)
        if len(self._pieces) - self._joined_up_to > PIECES_PER_JOIN:
            # Thousands of deltas of a few characters take half as much again as their text.
            self._pieces[self._joined_up_to:] = ["".join(self._pieces[self._joined_up_to:])]
            self._joined_up_to += 1

    def text_mark(self):
        """Where the next piece of text goes, for `replace_text_from` (no join reaches back past it)."""
        self._joined_up_to = len(self._pieces)
        return self._joined_up_to

    def replace_text_from(self, mark, text):
        """Puts `text` in place of the pieces added since `mark`: one string instead of thousands."""
        self._pieces[mark:] = [text]

    def set_final_text(self, text):
        """The peer's authoritative text for the turn (it wins over the deltas, which are dropped)."""
        self._final_text = text
        self._pieces = []
        self._joined_up_to = 0

    def finish(self, status, error=None):
        """Record how the peer says the turn ended; only `completed` is success."""
        if status not in TURN_STATUS_EXIT:
            error = error or f"turn ended with an unexpected status {status!r}"
            status = "failed"
        self.status = status
        self.exit_code = TURN_STATUS_EXIT[status]
        if error:
            self.error = error
        elif self.exit_code != EXIT_OK:
            self.error = f"turn ended with status {status}"

    def fail(self, error):
        """Record an error that ends the call, keeping the text so far."""
        self.status = error.status
        self.exit_code = error.exit_code
        self.error = str(error)
        self.failure = error

    def to_dict(self):
        result = {key: value for key, value in self.ids.items()}
        result.update(status=self.status, exit_code=self.exit_code, text=self.text)
        if self.error:
            result["error"] = self.error
        if self.notifications:
            result["notifications"] = self.notifications
        if self.metrics:
            result["metrics"] = self.metrics
        result.update(self.extra)
        return result
