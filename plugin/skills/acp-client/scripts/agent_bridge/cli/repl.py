"""The line-by-line loop behind --repl, and questions put to the person at the keyboard."""
import contextlib
import json
import sys

from ..outcome import EXIT_OK, EXIT_TURN_FAILED

EXIT_COMMANDS = ("/exit", "/quit")


def run_repl(session, next_line, id_command, id_field, json_mode, stdout=None, stderr=None):
    """Sends each line as a turn until /exit, /quit or the end of input (`next_line()` -> None).

    `session` runs turns (`run_turn(prompt)` -> Envelope, already shown), starts
    over (`start_new()`), and knows its id (`current_id()`). A failed turn lets
    the loop go on; a lost connection, a timeout or an interrupt ends it. Returns
    0 when every turn succeeded, else the exit code of the last turn that did not.
    """
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    exit_code = EXIT_OK
    while True:
        line = next_line()
        command = (line or "").strip()
        if line is None or command in EXIT_COMMANDS:
            return exit_code
        if not command:
            continue
        if command == id_command:
            _print_id(stdout, id_field, session.current_id(), json_mode)
        elif command == "/new":
            session.start_new()
            _print_id(stdout, id_field, session.current_id(), json_mode)
        elif command.startswith("/") and " " not in command:
            print(f"unknown command {command}; try {id_command}, /new, /exit", file=stderr, flush=True)
        else:
            envelope = session.run_turn(line)
            if envelope.exit_code != EXIT_OK:
                exit_code = envelope.exit_code
            if envelope.exit_code not in (EXIT_OK, EXIT_TURN_FAILED):
                return exit_code


def _print_id(stdout, id_field, value, json_mode):
    stdout.write(json.dumps({id_field: value}) + "\n" if json_mode else f"{value}\n")  # ids are ASCII
    stdout.flush()


def ask_person(question, inbox, renderer, progress=None, timeout=None):
    """The line the person types to answer `question` on stderr (None once input has ended). The
    answer text received so far is shown first, and the progress line is kept off meanwhile.
    TimedOut after `timeout` seconds (None: no limit)."""
    renderer.flush()
    with progress.held() if progress else contextlib.nullcontext():
        print(question, end="", file=sys.stderr, flush=True)
        _, answer = inbox.get(timeout, ("line",))   # the peer's messages wait meanwhile
    return answer
