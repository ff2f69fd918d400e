"""-v, -vv and --ndjson-file."""
import json
import subprocess
import sys

from fixtures.fakes.sse_server import hang, text, tool
from tests.helpers import CODEX_SCRIPT, installed_version, json_lines, wait_until


def test_verbose_prints_lifecycle_and_command_summaries(codex, tmp_path):
    codex.fake.add(tool("exec_command", {"cmd": "echo hi", "sandbox_permissions": "require_escalated",
                                         "justification": "why not"}), text("done"))
    result = codex("-v", "run it")
    assert f"[codex-ws-client] connected to codex-ws-client/{installed_version('@openai/codex')}" in result.stderr
    assert "started thread" in result.stderr and "completed" in result.stderr
    assert "command: /bin/bash -lc 'echo hi'" in result.stderr
    assert "decline command" in result.stderr
    assert '"method":' not in result.stderr


def test_very_verbose_prints_raw_json_rpc(codex):
    result = codex("-vv", "x")
    sent = [json.loads(line[2:]) for line in result.stderr.splitlines() if line.startswith("> ")]
    received = [json.loads(line[2:]) for line in result.stderr.splitlines() if line.startswith("< ")]
    assert [m.get("method") for m in sent] == ["initialize", "initialized", "thread/start", "turn/start"]
    assert any(m.get("method") == "turn/completed" for m in received)


def test_ndjson_trace_records_every_message_with_time_and_direction(codex, tmp_path):
    trace = tmp_path / "trace.jsonl"
    trace.write_text('{"earlier": "line"}\n')
    result = codex("-vv", "--ndjson-file", str(trace), "x")
    records = json_lines(trace.read_text())
    assert records[0] == {"earlier": "line"}, "the trace is appended to, not overwritten"
    records = records[1:]
    assert all(set(r) == {"ts", "dir", "msg"} and r["ts"].endswith("Z") for r in records)
    out_lines = [line for line in result.stderr.splitlines() if line.startswith("> ")]
    in_lines = [line for line in result.stderr.splitlines() if line.startswith("< ")]
    assert len([r for r in records if r["dir"] == "out"]) == len(out_lines)
    assert len([r for r in records if r["dir"] == "in"]) == len(in_lines)


def test_ndjson_trace_is_flushed_as_it_goes(codex_server, tmp_path):
    codex_server.fake.add(hang())
    trace = tmp_path / "trace.jsonl"
    client = subprocess.Popen([sys.executable, str(CODEX_SCRIPT), "--uri", codex_server.uri,
                               "--ndjson-file", str(trace), "x"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: trace.exists() and '"turn/started"' in trace.read_text(),
                   what="turn/started in the trace while the turn runs")
        assert client.poll() is None
    finally:
        client.kill()
        client.wait()
