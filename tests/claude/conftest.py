"""Fixtures that run the real pinned `claude` CLI against the fake Anthropic Messages API."""
import os
import subprocess
import sys

import pytest

from fixtures.fakes import anthropic_api
from tests.helpers import CLAUDE_BIN, CLAUDE_SCRIPT, PEERS_BIN, json_lines, run_script, validate_envelope, wait_until


@pytest.fixture
def fake_anthropic():
    fake = anthropic_api.start()
    yield fake
    fake.stop()


@pytest.fixture
def claude_env(tmp_path, fake_anthropic):
    """An isolated HOME, the fake API, and the pinned claude first on PATH."""
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANTHROPIC_", "CLAUDE"))}
    env.update(HOME=str(home), ANTHROPIC_BASE_URL=f"http://127.0.0.1:{fake_anthropic.port}",
               ANTHROPIC_API_KEY="sk-test", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
               CLAUDE_CODE_MAX_RETRIES="0",   # a scripted API error fails at once instead of after retries
               PATH=f"{PEERS_BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


@pytest.fixture
def workdir(tmp_path):
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def claude(claude_env, fake_anthropic, tmp_path, workdir):
    """Runs claude_cli_client.py as a user would, in `workdir`; checks its envelopes."""

    def run(*args, stdin=None, timeout=90, env=None, cwd=None, trace=True):
        args = list(args)
        trace_path = tmp_path / f"trace-{len(run.calls)}.jsonl"
        if trace and "--ndjson-file" not in args:
            args += ["--ndjson-file", str(trace_path)]
        result = run_script(CLAUDE_SCRIPT, args, stdin=stdin, timeout=timeout, env=env or claude_env,
                            cwd=cwd or workdir)
        result.envelopes = [validate_envelope(e, "claude-cli-client") if "status" in e else e
                            for e in json_lines(result.stdout)] if "--json" in args else []
        result.envelope = next((e for e in reversed(result.envelopes) if "status" in e), None)
        result.trace = json_lines(trace_path.read_text()) if trace and trace_path.exists() else []
        run.calls.append(result)
        return result

    run.calls = []
    run.fake = fake_anthropic
    run.env = claude_env
    run.workdir = workdir
    return run


def started_argv(result):
    """The command line the client ran claude with, from its NDJSON trace."""
    return next(r["argv"] for r in result.trace if r.get("event") == "start")


def argv_recording_claude(folder):
    """A claude that writes the arguments it really got to folder/argv, then runs the real claude.

    Returns (its path, a function that reads the recorded arguments)."""
    record = folder / "argv"
    wrapper = folder / "argv-recording-claude"
    wrapper.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > '{record}'\nexec '{CLAUDE_BIN}' \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper, lambda: record.read_bytes().decode().split("\0")[:-1]


def start_client(env, cwd, trace, *args):
    """Starts claude_cli_client.py --json with an NDJSON trace; returns the Popen."""
    return subprocess.Popen([sys.executable, str(CLAUDE_SCRIPT), "--json", "--ndjson-file", str(trace), *args],
                            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_text_in_trace(trace, text):
    wait_until(lambda: trace.exists() and text in trace.read_text(), what=f"{text!r} in the trace")
