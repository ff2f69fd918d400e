"""What users of comparable tools keep hitting: huge output, stalls, overload, request ids, versions."""
import time

import pytest

from tests.codex.conftest import fault_run
from fixtures.fakes.sse_server import text
from fixtures.fakes.ws_faults import FaultServer, delta


def _completed(status="completed", answer="the answer"):
    return ("json", {"method": "turn/completed", "params": {"threadId": "thread-1", "turn": {
        "id": "turn-1", "status": status, "error": None,
        "items": [{"type": "agentMessage", "id": "item-1", "text": answer}]}}})


def test_max_text_cuts_the_envelope_and_keeps_the_whole_text(codex, tmp_path):
    answer = "".join(f"line {n}\n" for n in range(20000))
    codex.fake.add(text(answer, chunks=20))
    result = codex("--json", "--max-text", "1000", "big")
    envelope = result.envelope
    assert envelope["text_truncated"] is True
    assert envelope["text"].startswith(answer[:1000]) and len(envelope["text"]) < 1200
    assert "truncated: 1000 of" in envelope["text"]
    with open(envelope["text_file"], encoding="utf-8") as handle:
        assert handle.read() == answer
    out = tmp_path / "full.txt"
    codex.fake.add(text(answer, chunks=20))
    with_out = codex("--json", "--max-text", "1000", "--out", str(out), "big")
    assert with_out.envelope["text_file"] == str(out) and out.read_text() == answer
    codex.fake.add(text(answer, chunks=20))
    streamed = codex("--max-text", "500", "big")
    assert streamed.stdout.startswith(answer[:500]) and len(streamed.stdout) < 700
    short = codex("--json", "--max-text", "1000", "small")
    assert "text_truncated" not in short.envelope and short.envelope["text"] == "echo: small"


def test_a_lost_turn_completed_is_recovered_with_thread_read():
    finished = {"result": {"thread": {"id": "thread-1", "turns": [{
        "id": "turn-1", "status": "completed", "error": None, "durationMs": 1200,
        "items": [{"type": "agentMessage", "id": "item-1", "text": "whole answer"}]}]}}}
    server = FaultServer([delta("whole"), ("wait",)], on_request={"thread/read": finished})
    result = fault_run(server, "--timeout", "1", "-v")
    assert result.returncode == 0, result.stderr
    assert result.envelope["status"] == "completed" and result.envelope["text"] == "whole answer"
    assert "read back with thread/read" in result.stderr


def test_a_turn_still_running_after_the_timeout_is_exit_4():
    running = {"result": {"thread": {"id": "thread-1", "turns": [{"id": "turn-1", "status": "inProgress",
                                                                  "items": []}]}}}
    server = FaultServer([delta("partial"), ("wait",)], on_request={"thread/read": running})
    result = fault_run(server, "--timeout", "1")
    assert result.returncode == 4 and result.envelope["text"] == "partial"
    assert "still running" in result.envelope["error"]


def test_overloaded_server_is_retried_with_backoff():
    overloaded = {"error": {"code": -32001, "message": "server overloaded"}}
    server = FaultServer([_completed()], on_request={"thread/start": [overloaded, overloaded,
                                                                       {"result": {"thread": {"id": "thread-1"}}}]})
    result = fault_run(server, "-v")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("server overloaded, retry") == 2
    assert [m.get("method") for m in server.received].count("thread/start") == 3


def test_overload_that_does_not_pass_becomes_an_error():
    overloaded = {"error": {"code": -32001, "message": "server overloaded"}}
    server = FaultServer(on_request={"thread/start": [overloaded]})
    started = time.monotonic()
    result = fault_run(server)
    assert result.returncode == 1 and "server overloaded" in result.envelope["error"]
    assert [m.get("method") for m in server.received].count("thread/start") == 5
    assert time.monotonic() - started > 1, "retries are spaced out, not immediate"


def test_server_request_ids_are_echoed_exactly_and_answered_once():
    def request(request_id):
        return ("json", {"id": request_id, "method": "item/tool/call", "params": {"threadId": "thread-1"}})
    server = FaultServer([request("req-é"), request(7), request(0), request(7), request("7"), _completed(),
                          ("wait",)])
    result = fault_run(server)
    assert result.returncode == 0
    answers = [m for m in server.received if "method" not in m]
    assert [a["id"] for a in answers] == ["req-é", 7, 0, "7"]
    assert all(a["error"]["code"] == -32601 for a in answers)


def test_older_versions_are_warned_about_once():
    server = FaultServer([_completed()], user_agent="codex-ws-client/0.168.2 (Linux; x86_64)")
    result = fault_run(server)
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if "older than the oldest version" in line]
    assert len(warnings) == 1 and "0.168.2" in warnings[0] and "0.169.0" in warnings[0]
    assert result.envelope["server"] == "codex-ws-client/0.168.2 (Linux; x86_64)"


def test_newer_versions_are_not_warned_about():
    """Users run the newest codex: a release after the pinned one is no reason to warn."""
    server = FaultServer([_completed()], user_agent="codex-ws-client/0.171.0 (Linux; x86_64)")
    result = fault_run(server, "-v")
    assert result.returncode == 0
    assert "warning" not in result.stderr


def test_the_pinned_server_is_not_warned_about(codex):
    assert "warning: codex app-server" not in codex("--json", "-v", "x").stderr


@pytest.mark.parametrize("status, code", [("interrupted", 130), ("failed", 1), ("inProgress", 1), ("weird", 1)])
def test_only_completed_is_success(status, code):
    result = fault_run(FaultServer([_completed(status=status)]))
    assert result.returncode == code
    assert result.envelope["status"] == ("failed" if code == 1 else status)
    assert result.envelope["error"]
