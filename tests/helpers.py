"""Paths and small helpers the tests of both clients share."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
SKILLS = ROOT / "skills"
# scripts/test.sh --peers latest sets TEST_PEERS=latest: the newest releases instead of the pinned ones.
PEERS_DIR = ROOT / "tests" / ("peers-latest" if os.environ.get("TEST_PEERS") == "latest" else "peers")
PEERS_BIN = PEERS_DIR / "node_modules" / ".bin"
CODEX_BIN = PEERS_BIN / "codex"
CLAUDE_BIN = PEERS_BIN / "claude"
CODEX_SCRIPT = SKILLS / "codex-ws-client" / "scripts" / "codex_ws_client.py"
CLAUDE_SCRIPT = SKILLS / "claude-cli-client" / "scripts" / "claude_cli_client.py"


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


def wait_until(condition, timeout=30.0, interval=0.02, what="condition"):
    """Polls `condition()` until it returns something truthy, or fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


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
