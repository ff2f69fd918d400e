"""claude_client as a library: options that become claude's own, and errors that carry what the real claude said."""
import json
import os
import signal
import sys
import time

import pytest

from fixtures.fakes.claude_stand_in import write_stand_in_claude
from fixtures.fakes.sse_server import hang, text, tool
from tests.helpers import CLAUDE_BIN, SKILLS, repository_with_changes, review_output

sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))
from agent_bridge.deadline import Deadline  # noqa: E402
from claude_client import ClientError, PeerExited, Session, TimedOut  # noqa: E402


def test_a_claude_that_exits_gives_its_code_and_stderr(claude_env, monkeypatch):
    monkeypatch.setenv("PATH", claude_env["PATH"])
    monkeypatch.setenv("HOME", claude_env["HOME"])
    with pytest.raises(PeerExited) as caught:
        Session(permission_mode="nonsense")   # the real claude refuses the value and exits
    error = caught.value
    assert isinstance(error, ClientError) and error.exit_code == 3 and error.returncode == 1
    assert any("nonsense" in line for line in error.stderr_tail) and error.stderr_tail[-1] in str(error)


def test_an_unknown_option_is_a_type_error(claude_env, monkeypatch):
    monkeypatch.setenv("PATH", claude_env["PATH"])
    with pytest.raises(TypeError, match="not_an_option"):
        Session(not_an_option=1)


def test_session_options_reach_claude(claude_env, fake_anthropic, monkeypatch, tmp_path):
    for key, value in claude_env.items():
        monkeypatch.setenv(key, value)
    with Session(cwd=str(tmp_path), model="claude-library-model", append_system_prompt="LIBRARY-MARK",
                 json_schema={"type": "object"}, no_session_persistence=True) as claude:
        envelope = claude.ask("hello")
    assert envelope["status"] == "completed", envelope
    body = fake_anthropic.requests[-1]
    assert body["model"] == "claude-library-model" and "LIBRARY-MARK" in str(body.get("system"))


def _library_env(claude_env, monkeypatch):
    for key, value in claude_env.items():
        monkeypatch.setenv(key, value)   # the claude a session starts inherits this process's environment


def _slow_starting_claude(folder, slow_case="*"):
    """The real claude, started 60 s late when its arguments match the shell `case` pattern `slow_case`."""
    wrapper = folder / "slow-claude"
    wrapper.write_text(f"#!/bin/sh\ncase \"$*\" in *--json-schema*) ;; {slow_case}) sleep 60;; esac\n"
                       f"exec '{CLAUDE_BIN}' \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def test_ask_max_time_ends_a_slow_turn_as_timeout_with_its_text(claude_env, fake_anthropic, monkeypatch, tmp_path):
    _library_env(claude_env, monkeypatch)
    fake_anthropic.add(hang("words so far"))
    handlers = {number: signal.getsignal(number) for number in (signal.SIGALRM, signal.SIGINT, signal.SIGTERM)}
    with Session(cwd=str(tmp_path)) as claude:
        started = time.monotonic()
        envelope = claude.ask("long work", max_time=2)
        took = time.monotonic() - started
    assert envelope["status"] == "timeout" and envelope["exit_code"] == 4, envelope
    assert envelope["text"] == "words so far" and "max_time of 2s" in envelope["error"]
    assert took < 2 + 1.5, took   # its limit and the grace, with the slack of a loaded machine
    assert {number: signal.getsignal(number) for number in handlers} == handlers


def test_ask_max_time_covers_restarting_claude_for_a_json_schema(claude_env, fake_anthropic, monkeypatch, tmp_path):
    _library_env(claude_env, monkeypatch)
    repo = repository_with_changes(tmp_path / "repo")
    fake_anthropic.add(text("first answer"), tool("StructuredOutput", review_output(repo)))
    # The turn after a review restarts claude without the review's schema, resuming the session: slowly here.
    with Session(_slow_starting_claude(tmp_path, "*--resume*"), cwd=str(repo)) as claude:
        assert claude.ask("hello")["text"] == "first answer"
        assert claude.review(uncommitted=True).result().status == "completed"
        started = time.monotonic()
        envelope = claude.ask("and now?", max_time=2)
        took = time.monotonic() - started
    assert envelope["status"] == "timeout" and "max_time of 2s" in envelope["error"], envelope
    assert took < 2 + 1.5, took


def test_a_session_start_is_bounded_by_its_deadline(claude_env, monkeypatch, tmp_path):
    _library_env(claude_env, monkeypatch)
    started = time.monotonic()
    with pytest.raises(TimedOut) as caught:
        Session(_slow_starting_claude(tmp_path), cwd=str(tmp_path), deadline=Deadline(1))
    assert caught.value.setting == "max_time" and time.monotonic() - started < 1 + 1.5


def _claude_refusing_interrupt(path):
    """A stand-in claude whose turn streams some text and never ends, and which answers `interrupt` with an
    error: the real claude always accepts an interrupt, so only a stand-in shows that fault."""
    lines = [{"type": "system", "subtype": "init", "session_id": "s-1", "claude_code_version": "2.1.197"},
             {"type": "stream_event", "event": {"type": "message_start", "message": {"id": "m-1"}}},
             {"type": "stream_event", "event": {"type": "content_block_delta",
                                                "delta": {"type": "text_delta", "text": "partial"}}}]
    return write_stand_in_claude(path, map(json.dumps, lines), refuse_interrupt=True)


def test_an_interrupt_claude_refuses_reaches_the_turn(tmp_path):
    with Session(_claude_refusing_interrupt(tmp_path / "stubborn-claude"), cwd=str(tmp_path)) as claude:
        turn = claude.start("long work")
        next(message for message in turn.events() if message.get("type") == "stream_event"
             and message["event"].get("type") == "content_block_delta")
        envelope = turn.stop(grace=1).to_dict()
    assert envelope["status"] == "interrupted" and envelope["text"] == "partial"
    refusals = [n["message"] for n in envelope.get("notifications", []) if n["method"] == "control/error"]
    assert refusals == [{"request": "interrupt", "error": "no turn to interrupt here"}], envelope


def test_a_declined_tools_reason_names_the_library_settings_that_let_it_run(claude_env, fake_anthropic, monkeypatch,
                                                                           tmp_path):
    _library_env(claude_env, monkeypatch)
    marker = tmp_path / "elsewhere" / "denied"
    marker.parent.mkdir()
    fake_anthropic.add(tool("Bash", {"command": f"touch {marker}", "description": "touch it"}), text("declined"))
    work = tmp_path / "work"
    work.mkdir()
    with Session(cwd=str(work)) as claude:
        envelope = claude.ask("run it")
    reason, = [approval["reason"] for approval in envelope["approvals"]]
    assert reason.endswith(f"(add_dir {marker.parent} permission_mode acceptEdits lets it run, "
                           "or allowed_tools Bash)"), reason
    assert "--" not in reason


def test_a_request_still_waiting_when_claude_exits_is_failed(claude_env, fake_anthropic, monkeypatch, tmp_path):
    _library_env(claude_env, monkeypatch)
    fake_anthropic.add(hang("words so far"))
    with Session(cwd=str(tmp_path)) as claude:
        turn = claude.start("long work")
        next(message for message in turn.events() if message.get("type") == "stream_event"
             and message["event"].get("type") == "content_block_delta")
        os.kill(claude.process.pid, signal.SIGSTOP)   # it cannot answer the interrupt
        interrupt = claude.interrupt()
        os.kill(claude.process.pid, signal.SIGKILL)
        envelope = turn.result().to_dict()
    assert envelope["status"] == "connection_failed", envelope
    assert interrupt.answered and interrupt.error.startswith("claude ended before answering"), interrupt
