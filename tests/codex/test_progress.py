"""Progress while a turn runs: what codex is doing, on stderr, at most once a second."""
import itertools
import json
import re
import sys
import time

from fixtures.fakes.sse_server import text, tool
from tests.helpers import CODEX_SCRIPT, SKILLS, json_lines, run_on_terminal, screen_lines

sys.path.insert(0, str(SKILLS / "codex-ws-client" / "scripts"))
from agent_bridge.cli.progress import short  # noqa: E402
from codex_client.cli.activity import describe  # noqa: E402

PROGRESS_LINE = re.compile(r"^\[codex-ws-client\] (\d+)s (.+)$")
SLOW_COMMAND = "sleep 2; echo done"
ANSWER = "the command ran. " * 20
PATCH = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: hello.txt\n+hi there\n*** End Patch\nEOF\n"


def _slow_turn(fake):
    """A turn that runs a two-second command, then streams its answer in 20 pieces over a second."""
    fake.add(tool("exec_command", {"cmd": SLOW_COMMAND}), text(ANSWER, chunks=20, gap=0.05))


def _progress_lines(stderr):
    return [match.group(2) for match in map(PROGRESS_LINE.match, stderr.splitlines()) if match]


def _drawn_activities(received):
    """The activities drawn, each over the last, on a terminal's progress line."""
    return [drawn.rstrip() for drawn in re.findall(r"\r\[codex-ws-client\] \d+s ([^\r]*)", received)]


def test_progress_names_the_running_command_only_when_asked_off_a_terminal(codex, tmp_path):
    _slow_turn(codex.fake)
    shown = codex("--progress", "--cwd", str(tmp_path), "run it")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == ANSWER + "\n"
    assert f"running `{SLOW_COMMAND}`" in _progress_lines(shown.stderr), shown.stderr
    _slow_turn(codex.fake)
    quiet = codex("--cwd", str(tmp_path), "run it")
    assert quiet.returncode == 0 and quiet.stdout == ANSWER + "\n"
    assert quiet.stderr == ""


def test_progress_with_json_is_ndjson_on_stderr_and_stdout_keeps_one_envelope(codex, tmp_path):
    _slow_turn(codex.fake)
    result = codex("--progress", "--json", "--cwd", str(tmp_path), "run it")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 and result.envelope["text"] == ANSWER
    events = json_lines(result.stderr)
    assert events and all(event["type"] == "progress" for event in events)
    assert [event["activity"] for event in events].count(f"running `{SLOW_COMMAND}`") == 1
    ids = {"thread_id": result.envelope["thread_id"], "turn_id": result.envelope["turn_id"]}
    assert all({key: event[key] for key in ids} == ids for event in events)
    elapsed = [event["elapsed_s"] for event in events]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 1.0


def test_a_terminal_shows_progress_without_the_option_and_clears_it_before_the_answer(codex_server, tmp_path):
    _slow_turn(codex_server.fake)
    exit_code, received, _ = run_on_terminal(
        [CODEX_SCRIPT, "--uri", codex_server.uri, "--cwd", tmp_path, "run it"], stdout_too=True)
    assert exit_code == 0, received
    assert f"running `{SLOW_COMMAND}`" in _drawn_activities(received), received
    # Answer and progress share the terminal: what stays on screen is the answer alone.
    assert screen_lines(received) == [ANSWER.rstrip()]


def test_a_question_to_the_person_at_the_terminal_is_not_drawn_over(codex_server, tmp_path):
    marker = tmp_path / "ran"
    codex_server.fake.add(tool("exec_command", {"cmd": f"touch {marker}", "sandbox_permissions": "require_escalated",
                                                "justification": "test"}), text("ran it"))
    exit_code, received, stdout = run_on_terminal(
        [CODEX_SCRIPT, "--uri", codex_server.uri, "--interactive-approvals", "--cwd", tmp_path, "run it"],
        person=("Allow? [y/N] ", "y\n", 2.5))
    assert exit_code == 0 and stdout == "ran it\n" and marker.exists(), received
    question = received.index("Allow? [y/N] ")
    # The ticks while the person thinks (two at least) leave the question alone.
    assert received[question:].startswith("Allow? [y/N] y\r\n"), received
    assert "Allow? [y/N] y" in screen_lines(received)


def test_progress_is_redrawn_at_most_once_a_second_however_many_messages(codex_server, tmp_path):
    codex_server.fake.add(text("piece " * 300, chunks=300, gap=0.01))
    started = time.monotonic()
    exit_code, received, stdout = run_on_terminal(
        [CODEX_SCRIPT, "--uri", codex_server.uri, "--no-stream", "--cwd", tmp_path, "stream it"])
    seconds = time.monotonic() - started
    assert exit_code == 0 and stdout == "piece " * 300 + "\n"
    drawn = received.count("\r[codex-ws-client]")
    assert 1 <= drawn <= seconds + 1, f"{drawn} redraws in {seconds:.1f}s"


def test_plain_progress_lines_are_throttled_while_the_activity_keeps_changing(codex, tmp_path):
    # A step takes a fifth of a second, so the turn outlasts the progress thread's first look (1 s).
    commands = [f"sleep 0.2; echo step {number}" for number in range(12)]
    codex.fake.add(*[tool("exec_command", {"cmd": command}) for command in commands], text("all done"))
    started = time.monotonic()
    result = codex("--progress", "--json", "--cwd", str(tmp_path), "many steps")
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert [c["command"] for c in result.envelope["commands"]] == [f"/bin/bash -lc '{c}'" for c in commands]
    # Each command changes the activity twice (running it, then waiting for the model): without the
    # throttle there would be a line for each change.
    assert 2 * len(commands) > seconds + 1, f"the turn took {seconds:.1f}s: too slow to show the throttle"
    assert 1 <= len(json_lines(result.stderr)) <= seconds + 1, result.stderr


def test_repl_shows_progress_for_each_turn(codex, tmp_path):
    _slow_turn(codex.fake)
    codex.fake.add(tool("exec_command", {"cmd": "sleep 2; echo again"}), text("second answer"))
    result = codex("--repl", "--progress", "--json", "--cwd", str(tmp_path), stdin="first\nsecond\n")
    assert result.returncode == 0, result.stderr
    first, second = result.envelopes
    activities = {(event["turn_id"], event["activity"]) for event in json_lines(result.stderr)}
    assert (first["turn_id"], f"running `{SLOW_COMMAND}`") in activities
    assert (second["turn_id"], "running `sleep 2; echo again`") in activities


def test_result_shows_the_progress_of_the_turn_it_waits_for(codex, tmp_path):
    codex.fake.add(tool("exec_command", {"cmd": SLOW_COMMAND}), text(ANSWER, chunks=40, gap=0.05))
    detached = codex("--json", "--detach", "--cwd", str(tmp_path), "run it")
    assert detached.returncode == 0, detached.stderr
    thread_id, turn_id = detached.envelope["thread_id"], detached.envelope["turn_id"]
    result = codex("--json", "--progress", "--result", "--thread-id", thread_id)
    assert result.returncode == 0 and result.envelope["text"] == ANSWER, result.stderr
    events = json_lines(result.stderr)
    assert "writing the answer" in [event["activity"] for event in events], result.stderr
    assert all(event["turn_id"] == turn_id and event["thread_id"] == thread_id for event in events)


def test_activities_of_the_real_messages_of_a_turn(codex, tmp_path):
    marker = tmp_path / "never"
    codex.fake.add(tool("exec_command", {"cmd": f"touch {marker}", "sandbox_permissions": "require_escalated",
                                         "justification": "test"}),
                   tool("exec_command", {"cmd": PATCH}), text("asked twice"))
    result = codex("--json", "--cwd", str(tmp_path), "run it")   # both need approval: declined by default
    assert result.returncode == 0 and not marker.exists(), result.stderr
    activities = [describe(record["msg"]) for record in result.trace if record["dir"] == "in"]
    changes = [activity for activity, _ in itertools.groupby(filter(None, activities))]
    touch = short(f"touch {marker}")
    assert changes == [f"running `{touch}`", f"waiting for approval: run `{touch}`", "waiting for the model",
                       "editing " + short(str(tmp_path / "hello.txt")), "waiting for approval: file changes",
                       "waiting for the model", "writing the answer", "waiting for the model"]


def test_tools_show_no_progress(codex):
    listed = codex("--threads", "--progress")
    assert listed.returncode == 0 and listed.stderr == "" and isinstance(json.loads(listed.stdout), list)


def test_a_long_step_is_repeated_every_ten_seconds_so_a_watcher_sees_the_call_alive(codex, tmp_path):
    codex.fake.add(tool("exec_command", {"cmd": "sleep 12", "yield_time_ms": 20000}), text("slept"))
    result = codex("--progress", "--json", "--cwd", str(tmp_path), "sleep")
    assert result.returncode == 0, result.stderr
    sleeping = [event for event in json_lines(result.stderr) if event["activity"] == "running `sleep 12`"]
    assert len(sleeping) >= 2, result.stderr   # the activity did not change, yet it was said again
    assert sleeping[1]["elapsed_s"] - sleeping[0]["elapsed_s"] >= 9.5
