"""Paths and small helpers the tests of both clients share."""
import json
import os
import subprocess
import sys
import time

import jsonschema

from fixtures.peers import (ACP_SCRIPT, CLAUDE_BIN, CLAUDE_SCRIPT, CODEX_BIN, CODEX_SCRIPT,  # noqa: F401
                            GEMINI_BIN, PEERS_BIN, PEERS_DIR, ROOT, SKILLS, wait_until)


def installed_version(package):
    """The version of a peer package the tests run, e.g. installed_version("@openai/codex")."""
    return json.loads((PEERS_DIR / "node_modules" / package / "package.json").read_text())["version"]


def load_schema(skill):
    return json.loads((SKILLS / skill / "references" / "envelope.schema.json").read_text())


def validate_envelope(envelope, skill):
    jsonschema.validate(envelope, load_schema(skill))
    return envelope


def run_script(script, args, stdin=None, timeout=60, env=None, cwd=None):
    """Runs a client script as a user would; returns the CompletedProcess (text mode)."""
    return subprocess.run([sys.executable, str(script), *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=cwd)


def assert_clean_exit_when_stdout_closes(argv, env=None, cwd=None):
    """Runs a streaming client, reads the start of its answer, closes stdout as `| head` does: exit 0, no traceback."""
    client = subprocess.Popen([sys.executable, *map(str, argv)], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert client.stdout.read(18) == b"line of the answer"
    client.stdout.close()
    stderr = client.stderr.read()
    assert client.wait(timeout=60) == 0, stderr
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_one_error_line(result, client_name):
    """The error is one line on stderr, prefixed with the client's name, and no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{client_name}: error: "), result.stderr
    assert "Traceback" not in result.stderr


def start_as_background_job(argv, **popen):
    """Starts `argv` as `argv &` in a non-interactive bash, which starts it with SIGINT ignored, as
    an agent's background job is. Returns (bash's Popen, the job's pid); bash exits with the job's code."""
    shell = subprocess.Popen(["bash", "-c", '"$@" & echo $!; wait $!', "bash", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **popen)
    return shell, int(shell.stdout.readline())


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def repository_with_changes(path):
    """A git repository with one commit on `main`, then a staged new file, an unstaged change and an
    untracked file: every kind of uncommitted change a review covers."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "tests@example.invalid")
    git(path, "config", "user.name", "Tests")
    (path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(path, "add", "calc.py")
    git(path, "commit", "-q", "-m", "Add calc")
    (path / "staged.py").write_text("STAGED_MARKER = 1\n")
    git(path, "add", "staged.py")
    (path / "calc.py").write_text("def add(a, b):\n    return a - b  # UNSTAGED_MARKER\n")
    (path / "untracked.py").write_text("UNTRACKED_MARKER = 3\n")
    return path


def review_output(repo):
    """An answer in codex's review-output format, with two findings."""
    return {"findings": [
        {"title": "[P1] add subtracts", "body": "add returns a - b.\nEvery caller gets the wrong sum.",
         "confidence_score": 0.9, "priority": 1,
         "code_location": {"absolute_file_path": str(repo / "calc.py"), "line_range": {"start": 2, "end": 2}}},
        {"title": "[P3] Unused constant", "body": "UNTRACKED_MARKER is never read.", "confidence_score": 0.4,
         "priority": 3,
         "code_location": {"absolute_file_path": str(repo / "untracked.py"), "line_range": {"start": 1, "end": 1}}}],
        "overall_correctness": "patch is incorrect", "overall_explanation": "add is broken.",
        "overall_confidence_score": 0.8}


def run_on_terminal(argv, env=None, cwd=None, stdout_too=False, timeout=60, person=None):
    """Runs `python argv...` with stderr (and, with `stdout_too`, stdout) on a pseudo-terminal.
    `person` = (question, answer, seconds): stdin is the terminal too, and a person types
    `answer` once `question` has been on the screen for `seconds`.
    Returns (exit code, what the terminal received, stdout when it was a pipe)."""
    import pty
    import select
    import tempfile
    controller, terminal = pty.openpty()
    with tempfile.TemporaryFile() as piped:
        client = subprocess.Popen([sys.executable, *map(str, argv)], env=env, cwd=cwd,
                                  stdin=terminal if person else subprocess.DEVNULL,
                                  stdout=terminal if stdout_too else piped, stderr=terminal)
        os.close(terminal)
        received = b""
        answer_at = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if person and answer_at is None and person[0].encode() in received:
                answer_at = time.monotonic() + person[2]
            if answer_at is not None and time.monotonic() >= answer_at:
                os.write(controller, person[1].encode())
                answer_at, person = None, None
            wake_up = min(deadline, answer_at or deadline)
            if not select.select([controller], [], [], max(0, wake_up - time.monotonic()))[0]:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:   # EIO: the client has exited and the terminal is closed
                break
            if not chunk:
                break
            received += chunk
        os.close(controller)
        if client.poll() is None and time.monotonic() >= deadline:
            client.kill()
            raise AssertionError(f"{argv} did not end within {timeout}s; the terminal got {received!r}")
        exit_code = client.wait(timeout=10)
        piped.seek(0)
        return exit_code, received.decode("utf-8", "replace"), piped.read().decode()


def screen_lines(received):
    """The lines a terminal shows after `received`: "\\r" moves back to the start of the line."""
    lines, line, column = [], [], 0
    for character in received.replace("\r\n", "\n"):
        if character == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        elif character == "\r":
            column = 0
        else:
            line[column:column + 1] = [character]
            column += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines
