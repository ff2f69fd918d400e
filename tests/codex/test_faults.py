"""Faults: each ends in its documented exit code, one error line, an envelope with the text so far."""
import json
import signal
import subprocess
import sys

import pytest

from tests.codex.conftest import fault_run
from fixtures.fakes.sse_server import hang
from fixtures.fakes.ws_faults import FaultServer, delta, frame
from tests.helpers import CODEX_SCRIPT, assert_one_error_line, json_lines, run_script, validate_envelope, wait_until


def _completed(answer):
    return ("json", {"method": "turn/completed", "params": {"threadId": "thread-1", "turn": {
        "id": "turn-1", "status": "completed", "error": None,
        "items": [{"type": "agentMessage", "id": "item-1", "text": answer}]}}})


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_refused_handshakes_are_exit_3(status):
    result = fault_run(FaultServer(status=status))
    assert result.returncode == 3 and f"HTTP {status}" in result.envelope["error"]
    assert_one_error_line(result, "codex-ws-client")


def _upgrade(accept):
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode()


@pytest.mark.parametrize("answer, reason", [
    (lambda accept: b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "is not HTTP"),
    (lambda accept: _upgrade("d3JvbmcgYWNjZXB0IGtleQ=="), "not a valid upgrade"),
    (lambda accept: _upgrade(accept).replace(b"Connection: Upgrade", b"Connection: close"), "not a valid upgrade"),
    (lambda accept: b"HTTP/1.1 101 Switching", "closed the connection during the WebSocket handshake"),
])
def test_an_answer_that_is_no_websocket_handshake_is_exit_3(answer, reason):
    result = fault_run(FaultServer(handshake_answer=answer))
    assert result.returncode == 3 and reason in result.envelope["error"], result.envelope
    assert_one_error_line(result, "codex-ws-client")


def test_frames_sent_together_with_the_handshake_answer_are_read():
    """Bytes that follow the 101 answer in the same read are the first frames, not lost: a ping there
    is answered."""
    server = FaultServer([_completed("after an early ping"), ("wait",)],
                         handshake_answer=lambda accept: _upgrade(accept) + frame(b"early", opcode=0x9))
    result = fault_run(server)
    assert result.returncode == 0 and result.envelope["text"] == "after an early ping"
    assert server.pongs == [b"early"]


def test_server_dropping_the_connection_mid_turn_is_exit_3():
    result = fault_run(FaultServer([delta("half"), ("drop",)]))
    assert result.returncode == 3 and result.envelope["text"] == "half"
    assert_one_error_line(result, "codex-ws-client")


def test_a_long_answer_cut_off_mid_stream_comes_back_whole_from_where_it_was_kept():
    """Past a megabyte, the streamed text waits in a temporary file: a turn that ends early returns it all."""
    pieces = [f"{n:04d}" + "é中😀" * 30_000 + "\n" for n in range(12)]   # 12 deltas, 1.6 MiB of characters
    result = fault_run(FaultServer([delta(piece) for piece in pieces] + [("drop",)]))
    assert result.returncode == 3 and result.envelope["text"] == "".join(pieces)


def test_real_server_killed_mid_turn_is_exit_3(codex_server, tmp_path):
    codex_server.fake.add(hang())
    trace = tmp_path / "trace.jsonl"
    client = subprocess.Popen([sys.executable, str(CODEX_SCRIPT), "--uri", codex_server.uri, "--json",
                               "--ndjson-file", str(trace), "x"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    wait_until(lambda: trace.exists() and '"turn/started"' in trace.read_text(), what="the turn to start")
    codex_server.kill(signal.SIGKILL)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 3
    envelope = validate_envelope(json_lines(out)[0], "codex-ws-client")
    assert envelope["status"] == "connection_failed" and envelope["turn_id"]
    assert len(err.strip().splitlines()) == 1


def test_fragmented_messages_are_joined_and_pings_answered():
    message = json.dumps(delta("in three pieces")[1]).encode()
    server = FaultServer([("bytes", frame(message[:10], final=False)),
                          ("bytes", frame(b"are you there", opcode=0x9)),
                          ("bytes", frame(message[10:20], opcode=0x0, final=False)),
                          ("bytes", frame(message[20:], opcode=0x0)),
                          _completed("in three pieces"), ("wait",)])
    result = fault_run(server)
    assert result.returncode == 0 and result.envelope["text"] == "in three pieces"
    assert server.pongs == [b"are you there"]


def test_frames_of_every_size_arriving_together_are_cut_apart():
    """The client reads the socket in large chunks and cuts the frames from them: many short frames
    to a chunk, headers and payloads split between chunks, frames longer than a chunk."""
    sizes = [1, 2, 125, 126, 127, 300, 65535, 65536, 70000, 3, 200000, 5] * 3
    pieces = [chr(ord("a") + n % 26) * size for n, size in enumerate(sizes)]
    stream = b"".join(frame(json.dumps(delta(piece)[1]).encode()) for piece in pieces)
    # No final text in turn/completed: the envelope's text is then the deltas as they were read.
    completed = ("json", {"method": "turn/completed", "params": {"threadId": "thread-1", "turn": {
        "id": "turn-1", "status": "completed", "error": None, "items": []}}})
    result = fault_run(FaultServer([("bytes", stream), completed, ("wait",)]), timeout=120)
    assert result.returncode == 0 and result.envelope["text"] == "".join(pieces)


@pytest.mark.parametrize("frames, reason", [
    (bytes([0x81, 0x82]) + b"mask{}", "malformed WebSocket frame"),            # servers must not mask
    (bytes([0xC1, 0x02]) + b"{}", "malformed WebSocket frame"),                # a reserved bit
    (bytes([0x83, 0x02]) + b"{}", "malformed WebSocket frame"),                # an unknown opcode
    (frame(b"{}", opcode=0x0), "fragment out of order"),                       # a continuation of nothing
    (bytes([0x81, 0x7F]) + (1 << 40).to_bytes(8, "big"), "over the limit"),   # a terabyte announced
], ids=["masked", "reserved-bit", "unknown-opcode", "stray-continuation", "terabyte"])
def test_malformed_frames_are_exit_5(frames, reason):
    result = fault_run(FaultServer([delta("kept"), ("bytes", frames), ("wait",)]))
    assert result.returncode == 5 and reason in result.envelope["error"]
    assert result.envelope["text"] == "kept"
    assert_one_error_line(result, "codex-ws-client")


def test_fragments_adding_up_past_the_limit_are_exit_5():
    # Each frame is within the limit (1 GiB); the whole message is one byte over. Only the first
    # fragment's byte is sent: the client must refuse when the second one is announced.
    first = frame(b"{", final=False)
    announced = bytes([0x00, 0x7F]) + (1 << 30).to_bytes(8, "big")   # a continuation of exactly the limit
    result = fault_run(FaultServer([delta("kept"), ("bytes", first + announced), ("drop",)]))
    assert result.returncode == 5, result.stderr
    assert f"a message of {(1 << 30) + 1} bytes, over the limit" in result.envelope["error"]
    assert result.envelope["text"] == "kept"


def test_a_response_with_an_unknown_id_is_ignored():
    server = FaultServer([("json", {"id": 999, "result": {}}), delta("fine"), _completed("fine")])
    result = fault_run(server, "-v")
    assert result.returncode == 0 and result.envelope["text"] == "fine"
    assert "unknown request id 999" in result.stderr


@pytest.mark.parametrize("method", ["initialize", "thread/start", "turn/start"])
def test_json_rpc_errors_on_setup_are_exit_1(method):
    server = FaultServer(on_request={method: {"error": {"code": -32600, "message": f"no {method} today"}}})
    result = fault_run(server)
    assert result.returncode == 1
    assert result.envelope["status"] == "failed" and f"no {method} today" in result.envelope["error"]
    assert_one_error_line(result, "codex-ws-client")


def test_a_flood_of_notifications_is_handled():
    noise = [("json", {"method": "warning", "params": {"threadId": "other", "message": f"noise {n}"}})
             for n in range(20000)]
    server = FaultServer(noise + [delta("after the flood"), _completed("after the flood")])
    result = fault_run(server)
    assert result.returncode == 0 and result.envelope["text"] == "after the flood"


def test_a_fifty_megabyte_answer(tmp_path):
    megabyte = "x" * (1024 * 1024)
    pieces = [delta(megabyte) for _ in range(50)]
    server = FaultServer(pieces + [_completed(megabyte * 50)])
    out = tmp_path / "answer.txt"
    result = fault_run(server, "--out", str(out), timeout=120)
    assert result.returncode == 0
    assert len(result.envelope["text"]) == 50 * 1024 * 1024
    assert out.stat().st_size == 50 * 1024 * 1024


def test_unwritable_trace_file_is_exit_2_before_connecting(tmp_path):
    server = FaultServer()
    result = fault_run(server, "--ndjson-file", str(tmp_path / "missing-dir" / "trace.jsonl"))
    assert result.returncode == 2 and "--ndjson-file" in result.envelope["error"]
    assert server.received == []


def test_non_utf8_prompt_is_exit_2(tmp_path):
    prompt = tmp_path / "latin1.txt"
    prompt.write_bytes("caf\xe9".encode("latin-1"))
    result = run_script(CODEX_SCRIPT, ["--json", "--prompt-file", str(prompt)])
    envelope = json_lines(result.stdout)[0]
    assert result.returncode == 2 and "not UTF-8" in envelope["error"]


def test_unreadable_prompt_file_is_exit_2(tmp_path):
    result = run_script(CODEX_SCRIPT, ["--json", "--prompt-file", str(tmp_path)])
    assert result.returncode == 2 and "cannot read --prompt-file" in json.loads(result.stdout)["error"]
