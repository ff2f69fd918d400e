"""One-shot turns through the real claude CLI: prompt on stdin, output modes, metrics."""
import os
import subprocess
import sys

from tests.claude.conftest import argv_recording_claude, started_argv
from fixtures.fakes.anthropic_api import last_user_text
from fixtures.fakes.sse_server import text
from tests.helpers import CLAUDE_SCRIPT, installed_version


def test_json_envelope(claude):
    result = claude("--json", "hello claude")
    assert result.returncode == 0, result.stderr
    envelope = result.envelope
    assert envelope["status"] == "completed" and envelope["exit_code"] == 0
    assert envelope["text"] == "echo: hello claude"
    assert envelope["session_id"] and envelope["thread_id"] == envelope["session_id"]
    assert envelope["turn_id"]
    metrics = envelope["metrics"]
    assert metrics["input_tokens"] == 12 and metrics["output_tokens"] == 5
    assert metrics["cache_read_input_tokens"] == 3 and metrics["cache_creation_input_tokens"] == 2
    assert metrics["cost_usd"] > 0 and metrics["latency_ms"] >= 0
    assert envelope["claude_version"] == installed_version("@anthropic-ai/claude-code")


def test_prompt_goes_on_stdin_never_on_the_command_line(claude, tmp_path):
    secret = "a prompt that must not show in the process list"
    wrapper, recorded_argv = argv_recording_claude(tmp_path)
    result = claude("--json", "--claude-bin", str(wrapper), secret)
    assert result.returncode == 0, result.stderr
    argv = recorded_argv()
    assert argv[:3] == ["-p", "--input-format", "stream-json"]
    assert not any(secret in arg for arg in argv)
    assert started_argv(result) == [str(wrapper), *argv]   # the trace shows what claude really got
    assert last_user_text(claude.fake.requests[-1]) == secret
    user_lines = [r["msg"] for r in result.trace if r["dir"] == "out" and r["msg"].get("type") == "user"]
    assert user_lines[0]["message"]["content"] == secret


def test_prompt_file_and_stdin(claude, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_bytes("\ufeffprompt from a file ✓".encode())
    assert claude("--json", "--prompt-file", str(prompt)).envelope["text"] == "echo: prompt from a file ✓"
    piped = claude("--json", "--prompt-file", "-", stdin="piped prompt")
    assert piped.envelope["text"] == "echo: piped prompt"


def test_streams_partial_deltas(claude_env, fake_anthropic, workdir):
    fake_anthropic.add(text("first-piece second-piece third-piece", chunks=3, gap=0.5))
    client = subprocess.Popen([sys.executable, str(CLAUDE_SCRIPT), "go"], env=claude_env, cwd=workdir,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = os.read(client.stdout.fileno(), 100)
    assert first == b"first-piece "
    assert client.poll() is None
    rest, _ = client.communicate(timeout=60)
    assert first + rest == b"first-piece second-piece third-piece\n"


def test_no_stream_out_and_summary(claude, tmp_path):
    claude.fake.add(text("alpha beta", chunks=2))
    out = tmp_path / "answer.txt"
    result = claude("--no-stream", "--out", str(out), "--summary", "x")
    assert result.stdout == "alpha beta\n"
    assert out.read_text() == "alpha beta"
    assert "status=completed" in result.stderr and "cost_usd=" in result.stderr
    assert "input_tokens=12" in result.stderr and "latency_ms=" in result.stderr
