"""Warm sessions (--keep-warm): a keeper holds the real claude between calls of one session."""
import json
import os
import signal
import subprocess

from fixtures.fakes.sse_server import text, tool
from tests.helpers import CLAUDE_BIN, wait_until


def counting_claude(folder):
    """A claude that notes each start (its pid) in folder/starts, then runs the real claude.

    Returns (its path, a function that reads the pids of the starts)."""
    starts = folder / "starts"
    wrapper = folder / "counting-claude"
    wrapper.write_text(f"#!/bin/sh\necho $$ >> '{starts}'\nexec '{CLAUDE_BIN}' \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper), lambda: starts.read_text().split() if starts.exists() else []


def alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def sessions(claude):
    result = claude("--sessions", "--json", trace=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["sessions"]


def keeper_pids(claude):
    """The keepers' pids, from their records."""
    folder = os.path.join(claude.env["HOME"], ".local", "state", "agent-bridge", "warm")
    pids = []
    for name in os.listdir(folder):
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as record:
                pids.append(json.load(record)["keeper_pid"])
    return pids


def test_second_call_reuses_the_warm_claude(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    first = claude("--json", "--claude-bin", claude_bin, "--keep-warm", "60", "remember pineapple")
    assert first.returncode == 0, first.stderr
    session_id = first.envelope["session_id"]
    second = claude("--json", "--claude-bin", claude_bin, "--session-id", session_id, "what was the word?")
    assert second.returncode == 0, second.stderr
    assert len(starts()) == 1, "the second call talked to the claude the first one left warm"
    assert second.envelope["text"] == "echo: what was the word?"
    assert second.envelope["session_id"] == session_id and second.envelope["turn_id"] != first.envelope["turn_id"]
    assert set(second.envelope) == set(first.envelope)
    assert second.envelope["claude_version"] == first.envelope["claude_version"]
    assert "remember pineapple" in json.dumps(claude.fake.requests[-1]), "the conversation went on"
    [kept] = sessions(claude)
    assert kept["session_id"] == session_id and kept["memory_bytes"] > 0 and not kept["busy"]
