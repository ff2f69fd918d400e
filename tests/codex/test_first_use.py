"""What an agent hit on first use (issue 11), each against the real app-server."""
import json
import os
import subprocess
import sys

from tests.codex.conftest import CodexServer
from fixtures.fakes.sse_server import hang, text, tool
from fixtures.fakes.ws_faults import FaultServer
from tests.helpers import (CODEX_SCRIPT, assert_clean_exit_when_stdout_closes, assert_one_error_line, json_lines,
                           validate_envelope, wait_until)

NOTHING_LISTENING = "ws://127.0.0.1:9"


def _exec(cmd, escalate=True):
    args = {"cmd": cmd}
    if escalate:
        args.update(sandbox_permissions="require_escalated", justification="the test asks for it")
    return tool("exec_command", args)


def _run_bytes(*args, env=None, cwd=None):
    """Runs the client with raw bytes on its command line, as a shell passes $'caf\\xe9'."""
    return subprocess.run([sys.executable, str(CODEX_SCRIPT), *args], capture_output=True, timeout=60,
                          env=env, cwd=cwd)


def test_prompt_that_is_not_utf8_is_a_bad_argument_at_once():
    server = FaultServer()
    try:
        result = _run_bytes("--uri", server.uri, "--json", b"caf\xe9")
    finally:
        server.stop()
    assert result.returncode == 2
    assert not hasattr(server, "handshake"), "refused before connecting"
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert envelope["status"] == "bad_arguments" and "not UTF-8" in envelope["error"]
    assert b"Traceback" not in result.stderr and result.stderr.count(b"\n") == 1


def test_reader_closing_stdout_early_is_a_clean_exit(codex_server):
    codex_server.fake.add(text("line of the answer\n" * 2000, chunks=200, gap=0.002))
    assert_clean_exit_when_stdout_closes([CODEX_SCRIPT, "--uri", codex_server.uri, "long answer"])


def test_ascii_only_stdout_keeps_json_exact_and_text_readable(codex):
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    codex.fake.add(text("caf\u00e9 \u2615 \u2028 done"))
    as_json = codex("--json", "x", env=env)
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout.isascii() and as_json.envelope["text"] == "caf\u00e9 \u2615 \u2028 done"
    codex.fake.add(text("caf\u00e9"))
    streamed = codex("-vv", "x", env=env)
    assert streamed.returncode == 0 and "Traceback" not in streamed.stderr
    assert streamed.stdout == "caf\\xe9\n"


def test_missing_output_schema_is_a_bad_argument_before_connecting(tmp_path):
    result = _run_bytes("--uri", NOTHING_LISTENING, "--json", "--output-schema", str(tmp_path / "none.json"), "x")
    assert result.returncode == 2, result.stdout
    assert "--output-schema" in json.loads(result.stdout)["error"]
    (tmp_path / "latin1.json").write_bytes(b'{"description": "caf\xe9"}')
    result = _run_bytes("--uri", NOTHING_LISTENING, "--json", "--output-schema", str(tmp_path / "latin1.json"), "x")
    assert result.returncode == 2 and "not UTF-8" in json.loads(result.stdout)["error"]


def test_json_wins_over_no_stream(codex):
    result = codex("--json", "--no-stream", "hello")
    assert result.returncode == 0, result.stderr
    assert len(result.envelopes) == 1 and result.envelope["text"] == "echo: hello"


def test_prompt_to_a_busy_thread_is_refused_not_merged(codex):
    codex.fake.add(hang("working"))
    detached = codex("--json", "--detach", "long job")
    thread_id, running_turn = detached.envelope["thread_id"], detached.envelope["turn_id"]
    codex.fake.wait_for_requests(1)
    second = codex("--json", "--thread-id", thread_id, "another question")
    assert second.returncode == 1
    assert second.envelope["turn_id"] is None
    error = second.envelope["error"]
    assert "busy" in error and running_turn in error and thread_id in error and "(--result)" in error
    assert not any(r["msg"].get("method") == "turn/start" for r in second.trace if r["dir"] == "out")
    assert len(codex.fake.requests) == 1


def test_detached_turn_keeps_its_approval_policy(codex, tmp_path):
    marker = tmp_path / "ran-unattended"
    codex.fake.add(_exec(f"touch {marker}", escalate=True), text("done while detached", delay=1))
    detached = codex("--json", "--detach", "--approve", "commands", "--cwd", str(tmp_path), "work alone")
    assert detached.returncode == 0 and detached.envelope["status"] == "inProgress"
    wait_until(marker.exists, timeout=60, what="the detached turn's command to run")
    thread_id = detached.envelope["thread_id"]
    collected = codex("--json", "--result", "--thread-id", thread_id, "--timeout", "60")
    assert collected.envelope["status"] == "completed" and collected.envelope["text"] == "done while detached"
    # What the server says about the client's own requests (reading the thread back) is not the turn's.
    noticed = {n["method"] for n in collected.envelope.get("notifications", [])}
    assert not noticed & {"deprecationNotice", "configWarning"}, collected.envelope["notifications"]


def test_resumed_thread_runs_in_its_own_directory(codex, tmp_path):
    home, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    first = codex("--json", "start here", cwd=home)
    codex.fake.add(_exec("pwd", escalate=False), text("listed"))
    resumed = codex("--json", "--thread-id", first.envelope["thread_id"], "where are you?", cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.envelope["commands"][0]["cwd"] == str(home)
    moved = codex("--json", "--thread-id", first.envelope["thread_id"], "--cwd", str(elsewhere), "move", cwd=home)
    resume = next(r["msg"] for r in moved.trace if r["msg"].get("method") == "thread/resume")
    assert resume["params"]["cwd"] == str(elsewhere)


def test_thread_listing_is_limited_with_one_line_previews(codex):
    for number in range(3):
        codex("--json", f"question {number}\n" + "x" * 5000)
    listed = codex("--threads", "--limit", "2")
    threads = json.loads(listed.stdout)
    assert len(threads) == 2
    assert all("\n" not in t["preview"] and len(t["preview"]) <= 100 for t in threads)
    assert threads[0]["preview"].startswith("question")
    assert len(json.loads(codex("--threads").stdout)) == 3


def test_max_time_stops_the_whole_call(codex):
    codex.fake.add(hang("so far"))
    result = codex("--json", "--max-time", "3", "never finishes")   # without --max-time: waits forever
    assert result.returncode == 4
    assert result.envelope["status"] == "timeout" and "--max-time 3s" in result.envelope["error"]
    assert result.envelope["text"] == "so far"
    interrupts = [r["msg"] for r in result.trace if r["dir"] == "out" and r["msg"].get("method") == "turn/interrupt"]
    assert interrupts and interrupts[0]["params"]["turnId"] == result.envelope["turn_id"]


def _question_server(tmp_path, fake_model):
    return CodexServer(tmp_path / "home", fake_model, ["--enable", "default_mode_request_user_input"])


QUESTION = {"questions": [{"header": "Pick", "id": "choice", "question": "Which one?",
                           "options": [{"label": "A", "description": "first"},
                                       {"label": "B", "description": "second"}]}]}


def test_questions_from_codex_are_recorded(tmp_path, fake_model, codex, protocol_schema):
    server = _question_server(tmp_path, fake_model)
    try:
        fake_model.add(tool("request_user_input", QUESTION), text("went on without an answer"))
        unanswered = codex("--json", "ask me", uri=server.uri)
        fake_model.add(tool("request_user_input", QUESTION), text("thanks"))
        answered = codex("--json", "--interactive-approvals", "ask me", uri=server.uri, stdin="2\n")
    finally:
        server.stop()
    assert unanswered.returncode == 0, unanswered.stderr
    assert unanswered.envelope["questions"] == [{"id": "choice", "header": "Pick", "question": "Which one?",
                                                 "options": ["A", "B"], "answer": None, "answered_by": "policy"}]
    assert {"method": "item/tool/requestUserInput", "message": "Which one?"} in unanswered.envelope["notifications"]
    assert answered.envelope["questions"][0]["answer"] == "B"
    assert answered.envelope["questions"][0]["answered_by"] == "user"
    assert "Which one?" in answered.stderr and "2. B: second" in answered.stderr
    tool_output = [item for item in fake_model.requests[-1]["input"] if item.get("type") == "function_call_output"]
    assert "B" in json.dumps(tool_output)


def test_end_of_input_at_the_prompt_is_no_answer(codex, tmp_path):
    marker = tmp_path / "never"
    codex.fake.add(_exec(f"touch {marker}"), text("not run"))
    result = codex("--json", "--interactive-approvals", "run it", stdin="")
    assert not marker.exists()
    assert result.envelope["approvals"][0]["decision"] == "decline"
    assert result.envelope["approvals"][0]["decided_by"] == "no_answer"
    codex.fake.add(_exec(f"touch {marker}"), text("ran it"))
    codex("--json", "--interactive-approvals", "run it", stdin="y\n")
    assert marker.exists(), "the same call answered yes runs the command"


def test_read_only_tools_print_an_envelope_when_they_fail(codex):
    result = codex("--read-thread", "01a20f65-ccc6-7f50-b74d-8da8b3ef5061")
    assert result.returncode == 1
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert envelope["status"] == "failed" and envelope["error"]
    assert_one_error_line(result, "codex-ws-client")


def test_repl_line_that_is_not_utf8_ends_with_an_envelope(codex_server):
    result = subprocess.run([sys.executable, str(CODEX_SCRIPT), "--uri", codex_server.uri, "--repl", "--json"],
                            input=b"first\ncaf\xe9\n", capture_output=True, timeout=60)
    envelopes = json_lines(result.stdout.decode())
    assert envelopes[0]["text"] == "echo: first"
    assert result.returncode == 2 and envelopes[-1]["status"] == "bad_arguments"
    assert "not UTF-8" in envelopes[-1]["error"] and b"Traceback" not in result.stderr


def test_timeout_on_result_bounds_the_whole_wait_even_while_the_turn_streams(codex):
    codex.fake.add(text("word " * 200, chunks=200, gap=0.3))   # a minute of deltas: never silent for a second
    thread_id = json.loads(codex("--detach", "long job").stdout)["thread_id"]
    codex.fake.wait_for_requests(1)
    waited = codex("--json", "--result", "--thread-id", thread_id, "--timeout", "2")
    # As --result JOB_ID says of a job still running: inProgress, exit 4.
    assert waited.returncode == 4 and waited.envelope["status"] == "inProgress", waited.envelope
    assert "--timeout 2s" in waited.envelope["error"]
    assert not any(r["msg"].get("method") == "turn/interrupt" for r in waited.trace if r["dir"] == "out")


def test_max_time_on_result_stops_waiting_but_not_the_turn(codex):
    codex.fake.add(hang("still going"))
    detached = codex("--detach", "long job")   # --detach prints its envelope as JSON without --json too
    thread_id = json.loads(detached.stdout)["thread_id"]
    codex.fake.wait_for_requests(1)
    waited = codex("--json", "--result", "--thread-id", thread_id, "--max-time", "2")
    assert waited.returncode == 4 and waited.envelope["status"] == "inProgress"
    assert not any(r["msg"].get("method") == "turn/interrupt" for r in waited.trace if r["dir"] == "out")
    turns = json.loads(codex("--read-thread", thread_id).stdout)["turns"]
    assert turns[-1]["status"] == "inProgress"
