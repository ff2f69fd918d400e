"""Control of a running turn: Ctrl-C sends turn/interrupt, --detach and --result, REPL steering."""
import os
import pty
import signal
import subprocess
import sys
import threading

from fixtures.fakes.sse_server import hang, text
from fixtures.fakes.ws_faults import FaultServer, delta
from tests.helpers import CODEX_SCRIPT, json_lines, start_as_background_job, validate_envelope, wait_until


def _start(uri, *args, **popen):
    return subprocess.Popen([sys.executable, str(CODEX_SCRIPT), "--uri", uri, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_ctrl_c_interrupts_the_turn_on_the_server(codex_server, tmp_path):
    codex_server.fake.add(hang())
    trace = tmp_path / "trace.jsonl"
    client = _start(codex_server.uri, "--json", "--ndjson-file", str(trace), "long job")
    wait_until(lambda: trace.exists() and '"turn/started"' in trace.read_text(), what="the turn to start")
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 130, err
    envelope = validate_envelope(json_lines(out)[0], "codex-ws-client")
    assert envelope["status"] == "interrupted" and envelope["turn_id"]
    records = json_lines(trace.read_text())
    interrupt = [r["msg"] for r in records if r["dir"] == "out" and r["msg"].get("method") == "turn/interrupt"]
    assert interrupt and interrupt[0]["params"]["turnId"] == envelope["turn_id"]
    completed = [r["msg"] for r in records if r["msg"].get("method") == "turn/completed"]
    assert completed and completed[0]["params"]["turn"]["status"] == "interrupted"


def test_sigint_interrupts_a_client_started_in_the_background(codex_server, tmp_path):
    codex_server.fake.add(hang("the partial answer"))
    trace = tmp_path / "trace.jsonl"
    shell, pid = start_as_background_job([sys.executable, str(CODEX_SCRIPT), "--uri", codex_server.uri, "--json",
                                          "--ndjson-file", str(trace), "long job"])
    wait_until(lambda: trace.exists() and "the partial answer" in trace.read_text(), what="the turn's first text")
    os.kill(pid, signal.SIGINT)
    out, err = shell.communicate(timeout=30)
    assert shell.returncode == 130, err
    envelope = validate_envelope(json_lines(out)[0], "codex-ws-client")
    assert envelope["status"] == "interrupted" and envelope["text"] == "the partial answer"


def test_second_ctrl_c_exits_at_once(tmp_path):
    # The server goes on with the turn only after the second Ctrl-C: a client still waiting out
    # the interrupt's grace period would take those words in.
    second_ctrl_c_sent = threading.Event()
    server = FaultServer([delta("so far"), ("until", second_ctrl_c_sent), delta(" and more"), ("wait",)])
    trace = tmp_path / "trace.jsonl"
    client = _start(server.uri, "--json", "--ndjson-file", str(trace), "x")
    try:
        wait_until(lambda: trace.exists() and "so far" in trace.read_text(), what="the delta")
        client.send_signal(signal.SIGINT)
        wait_until(lambda: "turn/interrupt" in trace.read_text(), what="turn/interrupt to be sent")
        client.send_signal(signal.SIGINT)
        second_ctrl_c_sent.set()
        out, _ = client.communicate(timeout=30)
    finally:
        second_ctrl_c_sent.set()
        server.stop()
    assert client.returncode == 130
    assert json_lines(out)[0]["text"] == "so far"
    assert "and more" not in trace.read_text()


def test_detach_then_result(codex):
    codex.fake.add(text("finished while nobody watched", delay=2))
    detached = codex("--json", "--detach", "background job")
    assert detached.returncode == 0
    envelope = detached.envelope
    assert envelope["status"] == "inProgress" and envelope["turn_id"] and envelope["text"] == ""
    result = codex("--json", "--result", "--thread-id", envelope["thread_id"], "--timeout", "30")
    assert result.returncode == 0, result.stderr
    assert result.envelope["status"] == "completed"
    assert result.envelope["turn_id"] == envelope["turn_id"]
    assert result.envelope["text"] == "finished while nobody watched"
    again = codex("--json", "--result", "--thread-id", envelope["thread_id"], "--turn-id", envelope["turn_id"])
    assert again.envelope["text"] == "finished while nobody watched"


def test_result_for_an_unknown_turn_is_exit_1(codex):
    thread_id = codex("--json", "x").envelope["thread_id"]
    result = codex("--json", "--result", "--thread-id", thread_id, "--turn-id", "no-such-turn")
    assert result.returncode == 1 and "no turn no-such-turn" in result.envelope["error"]


def test_result_needs_a_thread_id(codex):
    result = codex("--json", "--result", trace=False)
    assert result.returncode == 2 and "--thread-id" in result.envelope["error"]


def test_a_line_typed_during_a_turn_steers_it(codex_server, tmp_path):
    codex_server.fake.add(text("first answer", delay=3), text("after steering"))
    trace = tmp_path / "trace.jsonl"
    controller, terminal = pty.openpty()
    client = subprocess.Popen([sys.executable, str(CODEX_SCRIPT), "--uri", codex_server.uri, "--repl", "--json",
                               "--ndjson-file", str(trace)],
                              stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    os.close(terminal)
    try:
        os.write(controller, b"start working\n")
        wait_until(lambda: trace.exists() and '"turn/started"' in trace.read_text(), what="the turn to start")
        os.write(controller, b"also mention steering\n")
        wait_until(lambda: '"turn/steer"' in trace.read_text(), what="turn/steer to be sent")
        wait_until(lambda: trace.read_text().count('"turn/completed"') >= 1, timeout=30, what="the turn to end")
        os.write(controller, b"/exit\n")
        out, _ = client.communicate(timeout=30)
    finally:
        os.close(controller)
        if client.poll() is None:
            client.kill()
    steer = next(r["msg"] for r in json_lines(trace.read_text())
                 if r["dir"] == "out" and r["msg"].get("method") == "turn/steer")
    assert steer["params"]["input"][0]["text"] == "also mention steering"
    envelopes = [e for e in json_lines(out) if "status" in e]
    assert len(envelopes) == 1 and envelopes[0]["status"] == "completed"
    assert steer["params"]["expectedTurnId"] == envelopes[0]["turn_id"]
    assert "also mention steering" in str(codex_server.fake.requests[-1]["input"])
