"""The exit codes brainstorm shares with the two clients, and the errors that end a run early."""

EXIT_OK = 0
EXIT_PEER_FAILED = 1
EXIT_BAD_ARGUMENTS = 2
EXIT_UNREACHABLE = 3
EXIT_TIMEOUT = 4
EXIT_PARSE = 5
EXIT_INTERRUPTED = 130

STATUS_OF_EXIT = {EXIT_OK: "completed", EXIT_PEER_FAILED: "failed", EXIT_BAD_ARGUMENTS: "bad_arguments",
                  EXIT_UNREACHABLE: "connection_failed", EXIT_TIMEOUT: "timeout", EXIT_PARSE: "parse_error",
                  EXIT_INTERRUPTED: "interrupted"}


class BrainstormError(Exception):
    """Ends the run before or between rounds; `exit_code` is one of the codes above."""

    def __init__(self, message, exit_code=EXIT_BAD_ARGUMENTS):
        super().__init__(message)
        self.exit_code = exit_code


class BadArguments(BrainstormError):
    def __init__(self, message):
        super().__init__(message, EXIT_BAD_ARGUMENTS)
