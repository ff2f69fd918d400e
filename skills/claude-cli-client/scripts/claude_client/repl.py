"""The line-by-line loop behind --repl, and the questions asked in it."""
import json
import sys

from .outcome import EXIT_OK, EXIT_TURN_FAILED

EXIT_COMMANDS = ("/exit", "/quit")


class Console:
    """Reads lines from stdin (a terminal or a pipe) and asks questions on stderr."""

    def __init__(self, stdin=None, stderr=None):
        self.stdin = stdin or sys.stdin
        self.stderr = stderr or sys.stderr
        self.interactive = self.stdin.isatty()

    def read_line(self, prompt="> "):
        """The next line without its newline, or None at end of input."""
        if self.interactive:
            self.stderr.write(prompt)
            self.stderr.flush()
        line = self.stdin.readline()
        return None if line == "" else line.rstrip("\r\n")

    def ask(self, question):
        """Asks on stderr and reads the answer line; None at end of input."""
        self.stderr.write(question)
        self.stderr.flush()
        line = self.stdin.readline()
        return None if line == "" else line.strip()


def run_repl(conversation, console, id_command, id_field, json_mode, stdout=None):
    """Sends each line as a turn until /exit, /quit or end of input.

    `conversation` runs turns (`run_turn(prompt)` -> Envelope), starts over
    (`start_new()`), and knows its id (`current_id()`). A failed turn lets the
    loop go on; a lost connection, a timeout or an interrupt ends it. Returns 0
    when every turn succeeded, else the exit code of the last turn that did not.
    """
    stdout = stdout or sys.stdout
    exit_code = EXIT_OK
    while True:
        line = console.read_line()
        if line is None or line.strip() in EXIT_COMMANDS:
            return exit_code
        command = line.strip()
        if not command:
            continue
        if command == id_command:
            _print_id(stdout, id_field, conversation.current_id(), json_mode)
        elif command == "/new":
            conversation.start_new()
            _print_id(stdout, id_field, conversation.current_id(), json_mode)
        elif command.startswith("/") and " " not in command:
            console.stderr.write(f"unknown command {command}; try {id_command}, /new, /exit\n")
        else:
            envelope = conversation.run_turn(line)
            if envelope.exit_code != EXIT_OK:
                exit_code = envelope.exit_code
            if envelope.exit_code not in (EXIT_OK, EXIT_TURN_FAILED):
                return exit_code


def _print_id(stdout, id_field, value, json_mode):
    stdout.write(json.dumps({id_field: value}) + "\n" if json_mode else f"{value}\n")
    stdout.flush()
