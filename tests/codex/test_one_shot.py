"""One-shot turns against the real app-server: flow, prompt sources, output modes."""
import os
import subprocess
import sys

import pytest

from fixtures.fakes.sse_server import huge, text
from tests.helpers import CODEX_SCRIPT, installed_version


def test_json_envelope_has_ids_text_and_metrics(codex):
    result = codex("--json", "hello there")
    assert result.returncode == 0, result.stderr
    envelope = result.envelope
    assert envelope["status"] == "completed" and envelope["exit_code"] == 0
    assert envelope["text"] == "echo: hello there"
    assert envelope["thread_id"] and envelope["turn_id"]
    assert envelope["metrics"]["input_tokens"] > 0 and envelope["metrics"]["output_tokens"] > 0
    assert envelope["metrics"]["latency_ms"] >= 0
    assert envelope["server"].startswith(f"codex-ws-client/{installed_version('@openai/codex')}")
    methods = [r["msg"].get("method") for r in result.trace if r["dir"] == "out"]
    assert methods == ["initialize", "initialized", "thread/start", "turn/start"]


def test_default_mode_streams_deltas_as_they_arrive(codex_server):
    codex_server.fake.add(text("first-piece second-piece third-piece", chunks=3, gap=0.4))
    client = subprocess.Popen([sys.executable, str(CODEX_SCRIPT), "--uri", codex_server.uri, "go"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = os.read(client.stdout.fileno(), 100)
    # The first piece is on stdout while the fake model is still streaming the rest.
    assert first == b"first-piece "
    assert client.poll() is None
    rest, _ = client.communicate(timeout=30)
    assert first + rest == b"first-piece second-piece third-piece\n"
    assert client.returncode == 0


def test_no_stream_prints_the_final_text_once(codex):
    codex.fake.add(text("alpha beta gamma", chunks=3))
    result = codex("--no-stream", "x")
    assert result.returncode == 0
    assert result.stdout == "alpha beta gamma\n"


def test_out_file_and_summary(codex, tmp_path):
    out = tmp_path / "answer.txt"
    result = codex("--out", str(out), "--summary", "save me")
    assert result.returncode == 0
    assert out.read_text() == "echo: save me"
    assert "status=completed" in result.stderr
    assert "input_tokens=11" in result.stderr and "latency_ms=" in result.stderr


def test_prompt_from_file_with_bom(codex, tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_bytes("\ufeffprompt from a file: héllo".encode("utf-8"))
    result = codex("--json", "--prompt-file", str(prompt))
    assert result.envelope["text"] == "echo: prompt from a file: héllo"


def test_prompt_from_stdin(codex):
    result = codex("--json", "--prompt-file", "-", stdin="from stdin\nsecond line")
    assert result.returncode == 0
    assert result.envelope["text"] == "echo: from stdin\nsecond line"


def test_empty_prompt_is_a_bad_argument(codex, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    for args in (["--json", "   "], ["--json", "--prompt-file", str(empty)], ["--json"]):
        result = codex(*args, trace=False)
        assert result.returncode == 2, args
        assert result.envelope["status"] == "bad_arguments"
        assert "prompt" in result.envelope["error"]
        assert "Traceback" not in result.stderr
    assert codex.fake.requests == []


@pytest.mark.extended
def test_ten_megabyte_answer_streams_and_completes(codex):
    size = 10 * 1024 * 1024
    codex.fake.add(huge(size))
    result = codex("--json", "big", timeout=120, trace=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.envelope["text"]) == size
    codex.fake.add(huge(size))
    streamed = codex("big again", timeout=120, trace=False)
    assert streamed.returncode == 0
    assert len(streamed.stdout) == size + 1


def test_origin_header_would_be_refused(codex_server):
    """The pitfall the client avoids: the real server answers 403 to an Origin header."""
    import websocket
    try:
        websocket.create_connection(codex_server.uri, timeout=10)
    except websocket.WebSocketBadStatusException as error:
        assert error.status_code == 403
    else:
        raise AssertionError("expected the handshake with Origin to be refused")


# What a one-shot turn does without, kept off its start-up (issue 27): subprocess is for a review's git,
# shutil (with its compression modules) was argparse's way to the terminal's width.
NOT_NEEDED_BY_A_ONE_SHOT = {"subprocess", "shutil", "bz2", "lzma"}


def test_one_shot_imports_only_what_the_call_needs(codex_server):
    done = subprocess.run([sys.executable, "-X", "importtime", str(CODEX_SCRIPT), "--uri", codex_server.uri,
                           "--json", "hello"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "codex_client.websocket_transport" in imported   # the list is the call's own
    assert imported & NOT_NEEDED_BY_A_ONE_SHOT == set()
