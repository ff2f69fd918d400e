"""Every exit code and fault: documented code, one error line, an envelope, nothing left running."""
import json
import os
import signal

import pytest

from tests.claude.conftest import start_client, wait_for_text_in_trace
from fixtures.fakes.claude_stand_in import write_stand_in_claude
from fixtures.fakes.sse_server import error, hang
from tests.helpers import assert_one_error_line, json_lines, validate_envelope


def _fake_claude(tmp_path, body):
    """A stand-in for claude, for faults the real CLI cannot be made to show."""
    script = tmp_path / "fake-claude"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("status", [401, 429, 500])
def test_api_errors_are_exit_1(claude, status):
    claude.fake.add(error(status))
    result = claude("--json", "x")
    assert result.returncode == 1
    assert result.envelope["status"] == "failed" and str(status) in result.envelope["error"]
    assert "(success)" not in result.envelope["error"]
    assert_one_error_line(result, "claude-cli-client")


def test_bad_arguments_are_exit_2(claude, tmp_path):
    cases = [["   "], ["--timeout", "-3", "x"], ["--cwd", str(tmp_path / "none"), "x"],
             ["--out", str(tmp_path / "no" / "dir" / "f"), "x"], ["--ndjson-file", str(tmp_path / "no" / "t"), "x"],
             ["--prompt-file", str(tmp_path)], ["x", "--prompt-file", "-"]]
    for args in cases:
        result = claude("--json", *args, trace=False)
        assert result.returncode == 2, (args, result.stderr)
        assert result.envelope["status"] == "bad_arguments"
        assert_one_error_line(result, "claude-cli-client")
    assert claude.fake.requests == []


def test_missing_or_unexecutable_claude_is_exit_3(claude, tmp_path):
    missing = claude("--json", "--claude-bin", str(tmp_path / "no-claude"), "x", trace=False)
    assert missing.returncode == 3 and "not found" in missing.envelope["error"]
    not_executable = tmp_path / "claude"
    not_executable.write_text("#!/bin/sh\n")
    refused = claude("--json", "--claude-bin", str(not_executable), "x", trace=False)
    assert refused.returncode == 3
    for result in (missing, refused):
        assert_one_error_line(result, "claude-cli-client")


def test_claude_exiting_at_once_is_exit_3_with_its_reason(claude, tmp_path):
    fake = _fake_claude(tmp_path, "echo 'fatal: no config' >&2\nexit 7\n")
    result = claude("--json", "--claude-bin", fake, "x")
    assert result.returncode == 3
    assert "code 7" in result.envelope["error"] and "fatal: no config" in result.envelope["error"]
    assert_one_error_line(result, "claude-cli-client")


def test_claude_dying_mid_stream_is_exit_3_and_keeps_the_text(claude_env, fake_anthropic, workdir, tmp_path):
    fake_anthropic.add(hang("half an answer"))
    trace = tmp_path / "trace.jsonl"
    client = start_client(claude_env, workdir, trace, "x")
    wait_for_text_in_trace(trace, "half an answer")
    start = next(r for r in json_lines(trace.read_text()) if r.get("event") == "start")
    os.killpg(start["pid"], signal.SIGKILL)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 3
    envelope = validate_envelope(json_lines(out)[0], "claude-cli-client")
    assert envelope["status"] == "connection_failed" and envelope["text"] == "half an answer"


@pytest.mark.parametrize("printed, reason", [
    ("echo 'this is not json'", "not JSON"),
    ("python3 -c \"print('[' * 100000 + ']' * 100000)\"", "nested too deeply")], ids=["text", "deep"])
def test_unreadable_output_is_exit_5(claude, tmp_path, printed, reason):
    fake = _fake_claude(tmp_path, f"cat > /dev/null &\n{printed}\nsleep 30\n")
    result = claude("--json", "--claude-bin", fake, "x")
    assert result.returncode == 5 and result.envelope["status"] == "parse_error"
    assert reason in result.envelope["error"]
    assert_one_error_line(result, "claude-cli-client")


def test_invalid_json_schema_is_exit_5(claude):
    result = claude("--json", "--json-schema", "{nope", "x", trace=False)
    assert result.returncode == 5 and "--json-schema" in result.envelope["error"]


def test_non_utf8_prompt_is_exit_2(claude, tmp_path):
    prompt = tmp_path / "latin1.txt"
    prompt.write_bytes(b"caf\xe9")
    result = claude("--json", "--prompt-file", str(prompt), trace=False)
    assert result.returncode == 2 and "not UTF-8" in result.envelope["error"]


def test_sigterm_is_like_ctrl_c(claude_env, fake_anthropic, workdir, tmp_path):
    fake_anthropic.add(hang("words before SIGTERM"))
    trace = tmp_path / "trace.jsonl"
    client = start_client(claude_env, workdir, trace, "x")
    wait_for_text_in_trace(trace, "words before SIGTERM")
    client.send_signal(signal.SIGTERM)
    out, _ = client.communicate(timeout=30)
    assert client.returncode == 130
    assert json.loads(out)["text"] == "words before SIGTERM"


def test_a_long_answer_to_claude_does_not_wait_for_claude_to_read_it(claude, tmp_path):
    """The answer to a permission request can be longer than a pipe holds. A claude that writes on
    before it reads (its output waiting to be read, as the fuzz test's stand-in did) must not leave
    both waiting on each other: the client writes on a thread of its own."""
    permission_request = {"type": "control_request", "request_id": "r" * 1_000_000,
                          "request": {"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "ls"}}}
    statuses = [{"type": "system", "subtype": "status", "n": n, "pad": "x" * 100} for n in range(2000)]
    result_line = {"type": "result", "subtype": "success", "is_error": False, "result": "done", "session_id": "s"}
    fake = write_stand_in_claude(tmp_path / "claude", map(json.dumps, [permission_request, *statuses, result_line]),
                                 one_turn=True)
    result = claude("--json", "--claude-bin", fake, "--timeout", "20", "x", trace=False)
    assert result.returncode == 0, result.stderr
    assert result.envelope["text"] == "done" and result.envelope["approvals"][0]["decision"] == "decline"
