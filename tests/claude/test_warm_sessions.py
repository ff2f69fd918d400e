"""Warm sessions (--keep-warm): a keeper holds the real claude between calls of one session."""
import json
import os
import signal
import subprocess
import sys
import uuid

import pytest

from fixtures.fakes.sse_server import hang, text, tool
from fixtures.processes import child_pids, is_running, is_zombie
from tests.claude.conftest import start_client, wait_for_text_in_trace
from tests.helpers import CLAUDE_BIN, SKILLS, json_lines, validate_envelope, wait_until


def counting_claude(folder):
    """A claude that notes each start (its pid) in folder/starts, then runs the real claude.

    Returns (its path, a function that reads the pids of the starts)."""
    starts = folder / "starts"
    wrapper = folder / "counting-claude"
    wrapper.write_text(f"#!/bin/sh\necho $$ >> '{starts}'\nexec '{CLAUDE_BIN}' \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper), lambda: starts.read_text().split() if starts.exists() else []


def sessions(claude):
    result = claude("--sessions", "--json", trace=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["sessions"]


def keeper_pids(claude):
    """The pids of the keepers running for this test's HOME."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline, open(f"/proc/{pid}/environ", "rb") as environ:
                if b"--keeper-fd" in cmdline.read() and f"HOME={claude.env['HOME']}".encode() in environ.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return [pid for pid in pids if is_running(pid)]


def test_second_call_reuses_the_warm_claude(claude, tmp_path, private_job_store):
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
    first_cost, second_cost = first.envelope["metrics"], second.envelope["metrics"]
    assert second_cost["cost_usd"] == pytest.approx(first_cost["cost_usd"]) and first_cost["cost_usd"] > 0
    assert second_cost["session_cost_usd"] == pytest.approx(2 * first_cost["session_cost_usd"])
    warm_folder = private_job_store.parent / "warm"
    assert warm_folder.stat().st_mode & 0o777 == 0o700 and list(warm_folder.glob("*.sock")), "a private socket"
    [kept] = sessions(claude)
    assert kept["session_id"] == session_id and kept["memory_bytes"] > 0 and not kept["busy"]
    listed = claude("--sessions", trace=False).stdout
    assert listed.startswith(f"{session_id}  idle ") and listed.rstrip().endswith(kept["cwd"])


def test_a_resumed_session_can_be_kept_warm(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    session_id = claude("--json", "--claude-bin", claude_bin, "remember pineapple").envelope["session_id"]
    resumed = claude("--json", "--claude-bin", claude_bin, "--keep-warm", "60", "--session-id", session_id, "one")
    assert resumed.returncode == 0 and len(starts()) == 2, resumed.stderr
    third = claude("--json", "--claude-bin", claude_bin, "--session-id", session_id, "two")
    assert third.returncode == 0 and len(starts()) == 2, "the third call used the claude the second one kept"
    assert "remember pineapple" in json.dumps(claude.fake.requests[-1])


def warm_session(claude, claude_bin, keep_warm="60"):
    first = claude("--json", "--claude-bin", claude_bin, "--keep-warm", keep_warm, "hello")
    assert first.returncode == 0, first.stderr
    return first.envelope["session_id"]


def test_the_calling_clients_own_approvals_apply(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    session_id = warm_session(claude, claude_bin)
    marker = tmp_path / "ran"
    bash = tool("Bash", {"command": f"touch {marker}", "description": "make a marker file"})
    claude.fake.add(bash, text("could not"))
    declined = claude("--json", "--claude-bin", claude_bin, "--session-id", session_id, "run it")
    assert declined.returncode == 0, declined.stderr
    assert declined.envelope["approvals"][0]["decision"] == "decline" and not marker.exists()
    claude.fake.add(bash, text("done"))
    approved = claude("--json", "--claude-bin", claude_bin, "--session-id", session_id, "--interactive-approvals",
                      "run it now", stdin="y\n")
    assert approved.returncode == 0, approved.stderr
    assert approved.envelope["approvals"][0]["decision"] == "accept" and marker.exists()
    assert len(starts()) == 1, "both calls used the warm claude"


def test_other_claude_options_start_claude_cold(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    session_id = warm_session(claude, claude_bin)
    other = claude("--json", "-v", "--claude-bin", claude_bin, "--session-id", session_id, "--model", "claude-x",
                   "again")
    assert other.returncode == 0, other.stderr
    assert len(starts()) == 2
    assert f"session {session_id} is kept warm with other claude options: starting claude cold" in other.stderr


def test_the_keeper_ends_after_its_idle_time(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    warm_session(claude, claude_bin, keep_warm="1")
    [claude_pid] = starts()
    wait_until(lambda: not is_running(claude_pid) and not keeper_pids(claude), what="the keeper and claude to end")
    assert sessions(claude) == []


def test_stop_warm_ends_one_or_all(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    first, second = warm_session(claude, claude_bin), warm_session(claude, claude_bin)
    stopped = claude("--stop-warm", first, "--json", trace=False)
    assert json.loads(stopped.stdout) == {"stopped": [first]}
    # Stopped when it says so: a listing right after shows the other session alone.
    assert [kept["session_id"] for kept in sessions(claude)] == [second]
    claude("--stop-warm", trace=False)
    assert sessions(claude) == []
    wait_until(lambda: not any(is_running(pid) for pid in starts()), what="every warm claude to end")


def test_cancel_ends_an_idle_warm_session(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    session_id = warm_session(claude, claude_bin)
    [claude_pid] = starts()
    cancelled = claude("--cancel", session_id, "--json", trace=False)
    assert cancelled.returncode == 0, cancelled.stdout
    assert json.loads(cancelled.stdout) == {"stopped": [session_id]}
    assert sessions(claude) == [] and not keeper_pids(claude)
    wait_until(lambda: not is_running(claude_pid), what="the warm claude to end")
    again = claude("--cancel", session_id, trace=False)
    assert again.returncode == 2 and "is neither a job's id (see --jobs) nor a warm session's" in again.stderr


def busy_warm_session(claude, tmp_path, workdir, text_so_far):
    """A warm session whose second call is in the middle of a turn that has streamed `text_so_far`:
    (the counting claude, the session id, its claude's pid, the running call, that call's trace)."""
    claude_bin, starts = counting_claude(tmp_path)
    session_id = warm_session(claude, claude_bin)
    [claude_pid] = starts()
    claude.fake.add(hang(text_so_far))
    trace = tmp_path / "long.jsonl"
    long_call = start_client(claude.env, workdir, trace, "--claude-bin", claude_bin, "--session-id", session_id, "long")
    wait_for_text_in_trace(trace, text_so_far)
    return claude_bin, session_id, claude_pid, long_call, trace


@pytest.mark.parametrize("stop_option", ["--cancel", "--stop-warm"])
def test_ending_a_busy_warm_session_interrupts_its_turn(claude, tmp_path, workdir, stop_option):
    _, session_id, claude_pid, long_call, trace = busy_warm_session(claude, tmp_path, workdir, "the text so far")
    stopped = claude(stop_option, session_id, trace=False)
    assert stopped.returncode == 0 and stopped.stdout.splitlines()[-1] == session_id, stopped.stdout
    out, err = long_call.communicate(timeout=60)
    assert long_call.returncode == 130, err
    envelope = validate_envelope(json_lines(out)[0], "claude-cli-client")
    assert envelope["status"] == "interrupted" and envelope["text"] == "the text so far"
    received = [record["msg"] for record in json_lines(trace.read_text()) if record["dir"] == "in"]
    assert any(message.get("type") == "result" for message in received), "claude ended the turn itself"
    wait_until(lambda: not is_running(claude_pid) and not keeper_pids(claude), what="the keeper and claude to end")
    assert sessions(claude) == []


def test_a_library_caller_is_not_left_a_zombie_keeper(claude, claude_env, monkeypatch, tmp_path):
    sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))   # here: brainstorm's tests import this module
    from claude_client import Session
    for key, value in claude_env.items():
        monkeypatch.setenv(key, value)   # the keeper this process starts inherits its environment
    children_before = set(child_pids(os.getpid()))
    with Session(cwd=str(tmp_path), keep_warm=60) as session:
        assert session.ask("hello")["status"] == "completed"
    [keeper_pid] = keeper_pids(claude)
    assert claude("--stop-warm", trace=False).returncode == 0
    assert not keeper_pids(claude)
    children = set(child_pids(os.getpid())) - children_before
    assert keeper_pid not in children and not [pid for pid in children if is_zombie(pid)], children


def test_a_killed_keeper_leaves_no_claude(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    session_id = warm_session(claude, claude_bin)
    [claude_pid] = starts()
    [keeper_pid] = keeper_pids(claude)
    os.kill(keeper_pid, signal.SIGKILL)
    wait_until(lambda: not is_running(claude_pid), what="claude to exit once its input closed")
    assert not keeper_pids(claude) and sessions(claude) == []
    again = claude("--json", "--claude-bin", claude_bin, "--session-id", session_id, "still there?")
    assert again.returncode == 0 and len(starts()) == 2, "a cold start after the keeper is gone"


def test_claude_resuming_the_session_elsewhere_ends_the_keeper(claude, tmp_path, workdir):
    claude_bin, starts = counting_claude(tmp_path)
    session_id = warm_session(claude, claude_bin)
    [claude_pid] = starts()
    subprocess.run([CLAUDE_BIN, "-p", "--resume", session_id, "elsewhere"], cwd=workdir, env=claude.env,
                   capture_output=True, timeout=60, check=True)
    wait_until(lambda: not is_running(claude_pid), what="the warm claude to end")
    assert sessions(claude) == []


def test_one_caller_at_a_time_and_a_caller_gone_mid_turn_ends_claude(claude, tmp_path, workdir):
    claude_bin, session_id, claude_pid, long_call, _ = busy_warm_session(claude, tmp_path, workdir, "thinking")
    second = claude("--json", "--claude-bin", claude_bin, "--session-id", session_id, "me too")
    assert second.returncode == 1 and "is busy" in second.envelope["error"], second.stdout
    long_call.kill()
    long_call.communicate()
    wait_until(lambda: not is_running(claude_pid) and not keeper_pids(claude), what="the warm claude to end")


def test_at_most_eight_are_kept_and_the_oldest_idle_one_goes(claude, tmp_path):
    claude_bin, starts = counting_claude(tmp_path)
    kept = [warm_session(claude, claude_bin) for _ in range(9)]
    wait_until(lambda: len(sessions(claude)) == 8, what="eight warm sessions")
    assert [each["session_id"] for each in sessions(claude)] == kept[1:]
    wait_until(lambda: not is_running(starts()[0]), what="the oldest warm claude to end")


def test_warm_session_arguments(claude):
    cases = {("--keep-warm", "30", "--repl"): "--keep-warm keeps a one-shot call's session",
             ("--keep-warm", "30", "--detach", "x"): "--keep-warm keeps a one-shot call's session",
             ("--keep-warm", "30", "--no-session-persistence", "x"): "--keep-warm keeps a one-shot call's session",
             ("--keep-warm", "30", "--review"): "not with --repl, --result, --jobs, --cancel, --json-schema or "
                                                "--keep-warm",
             ("--sessions", "x"): "--sessions and --stop-warm take no prompt",
             ("--stop-warm", "--jobs"): "--sessions and --stop-warm are separate modes"}
    for args, message in cases.items():
        result = claude("--json", *args, trace=False)
        assert result.returncode == 2 and result.envelope["status"] == "bad_arguments", args
        assert message in result.envelope["error"] and "Traceback" not in result.stderr, result.stdout


def test_claude_failing_under_the_keeper_says_why(claude, workdir):
    unknown = str(uuid.uuid4())
    result = claude("--json", "--keep-warm", "60", "--cwd", str(workdir), "--session-id", unknown, "again")
    assert result.returncode == 1, result.stdout
    assert "No conversation found" in result.envelope["error"], "claude's own reason, from its stderr"
    assert not keeper_pids(claude)
