"""What the fixtures promise every test: the processes it starts end with it, even when pytest
times it out, and they run with a HOME and a temp folder of the test's own."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from fixtures.fakes.sse_server import text, tool
from fixtures.fakes.ws_faults import FaultServer, delta
from fixtures.processes import is_running, start_time
from tests.claude.conftest import claude, claude_env, fake_anthropic, workdir  # noqa: F401 - fixtures used below
from tests.codex.conftest import codex, codex_server, fake_model, protocol_schema  # noqa: F401
from tests.helpers import CODEX_SCRIPT, ROOT, json_lines, process_exists, run_script, wait_until

TIMED_OUT_TEST = '''
import os

from fixtures.fakes.sse_server import text, tool


def test_claude_works_past_the_timeout(claude):
    claude.fake.add(tool("Bash", {"command": "python3 -c 'import time; time.sleep(600)'", "description": "a long job"}), text("done"))
    claude("--json", "--allowed-tools", "Bash", "--ndjson-file", os.environ["CLAUDE_TRACE"], "a long job")
'''

INNER_CONFTEST = '''
from tests.conftest import *  # noqa: F401,F403 - the fixtures every test gets
from tests.claude.conftest import claude, claude_env, fake_anthropic, workdir  # noqa: F401
'''


def test_a_timed_out_test_leaves_no_peer_running(tmp_path):
    # pytest-timeout fails the test while the client waits for claude, which waits for its command;
    # pytest kills the client, and the claude it started, in a process group of its own, must not
    # outlive the test.
    inner = tmp_path / "inner"
    inner.mkdir()
    trace = tmp_path / "claude-trace.jsonl"
    (inner / "pytest.ini").write_text("[pytest]\n")
    (inner / "conftest.py").write_text(INNER_CONFTEST)
    (inner / "test_timed_out.py").write_text(TIMED_OUT_TEST)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "--timeout", "15",
                          "--basetemp", str(tmp_path / "inner-tmp"), "test_timed_out.py"],
                         cwd=inner, env=dict(os.environ, PYTHONPATH=str(ROOT), CLAUDE_TRACE=str(trace)),
                         capture_output=True, text=True, timeout=120)
    assert "1 failed" in run.stdout and "Timeout" in run.stdout, run.stdout + run.stderr
    claude_pid = next(record["pid"] for record in json_lines(trace.read_text()) if record.get("event") == "start")
    wait_until(lambda: not process_exists(claude_pid), timeout=10, what="the timed-out test's claude to end")


def test_codex_runs_approved_commands_with_a_home_of_the_tests_own(codex, tmp_path):
    said = tmp_path / "home-of-the-command"
    codex.fake.add(tool("exec_command", {"cmd": f"printenv HOME > {said}", "sandbox_permissions": "require_escalated",
                                         "justification": "the test asks for it"}), text("done"))
    assert codex("--json", "--approve", "commands", "where is home?").returncode == 0
    assert tmp_path in Path(said.read_text().strip()).parents


def test_the_clients_temp_files_go_to_the_tests_own_folder(claude, tmp_path):
    long_answer = "a long answer " * 100
    claude.fake.add(text(long_answer))
    cut_by_claude_client = claude("--json", "--max-text", "100", "say a lot").envelope["text_file"]
    server = FaultServer([delta(long_answer), ("json", {"method": "turn/completed", "params": {
        "threadId": "thread-1", "turn": {"id": "turn-1", "status": "completed", "error": None, "items": []}}})])
    try:
        cut = run_script(CODEX_SCRIPT, ["--uri", server.uri, "--json", "--max-text", "100", "say a lot"])
    finally:
        server.stop()
    cut_by_codex_client = json.loads(cut.stdout)["text_file"]
    never_listens = tmp_path / "codex-that-exits"
    never_listens.write_text(f"#!{sys.executable}\n")
    never_listens.chmod(0o755)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        uri = f"ws://127.0.0.1:{probe.getsockname()[1]}"
    spawned = run_script(CODEX_SCRIPT, ["--uri", uri, "--spawn", "--codex-bin", str(never_listens),
                                        "--connect-timeout", "1", "--json", "x"])
    spawn_log = json.loads(spawned.stdout)["error"].rsplit("see ", 1)[1]
    for path in (cut_by_claude_client, cut_by_codex_client, spawn_log):
        assert tmp_path in Path(path).parents, path


def test_a_process_counts_as_running_until_it_ends_not_until_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    started = start_time(child.pid)
    assert is_running(child.pid) and started.isdigit()
    child.stdin.close()
    wait_until(lambda: not is_running(child.pid), timeout=10, what="the child ended")
    assert process_exists(child.pid) and start_time(child.pid) == started   # a zombie until waited for
    child.wait()
    assert not is_running(child.pid) and start_time(child.pid) == ""
