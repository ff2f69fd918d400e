"""Every documented exit code, each with an envelope under --json and a one-line error."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from tests.codex.conftest import fault_run
from fixtures.fakes.sse_server import error, hang, text
from fixtures.fakes.ws_faults import FaultServer, delta
from tests.helpers import CODEX_SCRIPT, assert_one_error_line, json_lines, run_script, validate_envelope, wait_until


def test_exit_1_when_the_model_fails(codex):
    codex.fake.add(error(500))
    result = codex("--json", "x")
    assert result.returncode == 1
    assert result.envelope["status"] == "failed" and result.envelope["error"]
    assert result.envelope["turn_id"]


def test_exit_2_for_bad_arguments_before_connecting(codex, tmp_path):
    cases = [["--ephemeral", "--thread-id", "t", "x"], ["--header", "no-colon", "x"],
             ["--timeout", "-1", "x"], ["--cwd", str(tmp_path / "missing"), "x"],
             ["--out", str(tmp_path / "no" / "such" / "dir.txt"), "x"], ["x", "--prompt-file", "-"],
             ["--prompt-file", str(tmp_path / "missing.txt")]]
    for args in cases:
        result = codex("--json", *args, trace=False)
        assert result.returncode == 2, (args, result.stderr)
        assert result.envelope["status"] == "bad_arguments"
        assert_one_error_line(result, "codex-ws-client")
    assert codex.fake.requests == []


@pytest.mark.parametrize("args", [["--timeout", "soon"], ["--max-time", "-1"], ["--max-time", "nan"],
                                  ["--timeout", "inf"], ["--connect-timeout", "nan"], ["--limit", "abc"],
                                  ["--max-text", "-1"], ["--bogus-flag"], ["--sandbox", "bogus"]])
def test_command_line_errors_are_exit_2_with_an_envelope(args):
    result = run_script(CODEX_SCRIPT, ["--json", *args, "x"])
    assert result.returncode == 2, result.stderr
    envelope = validate_envelope(json.loads(result.stdout), "codex-ws-client")
    assert envelope["status"] == "bad_arguments" and "text_truncated" not in envelope
    assert_one_error_line(result, "codex-ws-client")
    without_json = run_script(CODEX_SCRIPT, [*args, "x"])
    assert without_json.returncode == 2 and without_json.stdout == ""
    assert_one_error_line(without_json, "codex-ws-client")


def test_prompt_is_refused_where_nothing_would_send_it(codex):
    for args in (["--result", "--thread-id", "t-1"], ["--threads"], ["--check"]):
        result = codex("--json", *args, "also a prompt", trace=False)
        assert result.returncode == 2 and "take no prompt" in result.envelope["error"], args


def test_exit_3_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_script(CODEX_SCRIPT, ["--uri", f"ws://127.0.0.1:{port}", "--json", "x"])
    assert result.returncode == 3
    envelope = validate_envelope(json_lines(result.stdout)[0], "codex-ws-client")
    assert envelope["status"] == "connection_failed" and "refused" in envelope["error"].lower()
    assert_one_error_line(result, "codex-ws-client")


def test_default_uri_is_port_8765():
    result = run_script(CODEX_SCRIPT, ["--help"])
    assert "ws://127.0.0.1:8765" in result.stdout
    assert result.returncode == 0


def test_codex_app_server_uri_sets_the_default_uri(codex_server):
    result = run_script(CODEX_SCRIPT, ["--check"], env=dict(os.environ, CODEX_APP_SERVER_URI=codex_server.uri))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["uri"] == codex_server.uri
    overridden = run_script(CODEX_SCRIPT, ["--check", "--uri", codex_server.uri],
                            env=dict(os.environ, CODEX_APP_SERVER_URI="ws://127.0.0.1:9"))
    assert overridden.returncode == 0, overridden.stderr


def test_exit_3_when_the_handshake_is_refused():
    result = fault_run(FaultServer(status=401))
    assert result.returncode == 3 and "HTTP 401" in result.envelope["error"]


def test_exit_3_when_the_server_closes_mid_turn_keeps_the_text():
    result = fault_run(FaultServer([delta("partial "), delta("answer"), ("close",)]))
    assert result.returncode == 3
    assert result.envelope["text"] == "partial answer"
    assert result.envelope["turn_id"] == "turn-1"
    assert_one_error_line(result, "codex-ws-client")


def test_exit_4_when_the_turn_stalls(codex):
    codex.fake.add(hang())
    result = codex("--json", "--timeout", "1", "x")
    assert result.returncode == 4
    assert result.envelope["status"] == "timeout" and "--timeout" in result.envelope["error"]


def test_exit_4_when_the_handshake_never_completes():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        result = run_script(CODEX_SCRIPT, ["--uri", f"ws://127.0.0.1:{port}", "--connect-timeout", "1",
                                           "--json", "x"])
    assert result.returncode == 4
    assert "--connect-timeout" in json_lines(result.stdout)[0]["error"]


def test_timeout_zero_means_no_timeout(codex):
    codex.fake.add(text("late", delay=2))
    result = codex("--json", "--timeout", "0", "x")
    assert result.returncode == 0 and result.envelope["text"] == "late"


@pytest.mark.parametrize("bad", [("raw", b"{not json"), ("binary", b"\x00\x01"), ("raw", b"[1, 2]"),
                                 ("raw", b"[" * 100_000 + b"]" * 100_000)], ids=["text", "binary", "array", "deep"])
def test_exit_5_for_unparseable_messages(bad):
    result = fault_run(FaultServer([delta("kept"), bad]))
    assert result.returncode == 5
    assert result.envelope["status"] == "parse_error" and result.envelope["text"] == "kept"
    assert_one_error_line(result, "codex-ws-client")


def test_exit_5_for_an_output_schema_that_is_not_json(codex, tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text("{nope")
    result = codex("--json", "--output-schema", str(schema), "x", trace=False)
    assert result.returncode == 5 and "--output-schema" in result.envelope["error"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_exit_130_on_interrupt_keeps_the_text_so_far(sig, tmp_path):
    server = FaultServer([delta("before the interrupt"), ("wait",)])
    trace = tmp_path / "trace.jsonl"
    client = subprocess.Popen([sys.executable, str(CODEX_SCRIPT), "--uri", server.uri, "--json",
                               "--ndjson-file", str(trace), "x"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: trace.exists() and "before the interrupt" in trace.read_text(),
                   what="the delta in the client's trace")
        os.kill(client.pid, sig)
        out, err = client.communicate(timeout=20)
    finally:
        server.stop()
    assert client.returncode == 130
    envelope = validate_envelope(json_lines(out)[0], "codex-ws-client")
    assert envelope["status"] == "interrupted"
    assert envelope["text"] == "before the interrupt"
    assert_one_error_line(subprocess.CompletedProcess([], 130, out, err), "codex-ws-client")
