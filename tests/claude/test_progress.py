"""Progress while a turn runs: what claude is doing, on stderr, at most once a second."""
import itertools
import re
import sys
import time

from fixtures.fakes.sse_server import text, tool
from tests.helpers import CLAUDE_SCRIPT, SKILLS, json_lines, run_on_terminal, screen_lines

sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))
from agent_bridge.cli.progress import short  # noqa: E402
from claude_client.cli.activity import describe  # noqa: E402

PROGRESS_LINE = re.compile(r"^\[claude-cli-client\] (\d+)s (.+)$")
SLOW_COMMAND = "sleep 2; echo done"
ANSWER = "the command ran. " * 20


def _slow_turn(fake, command=SLOW_COMMAND):
    """A turn that runs a two-second Bash command, then streams its answer in 20 pieces over a second."""
    fake.add(tool("Bash", {"command": command, "description": "wait"}), text(ANSWER, chunks=20, gap=0.05))


def _progress_lines(stderr):
    return [match.group(2) for match in map(PROGRESS_LINE.match, stderr.splitlines()) if match]


def _drawn_activities(received):
    """The activities drawn, each over the last, on a terminal's progress line."""
    return [drawn.rstrip() for drawn in re.findall(r"\r\[claude-cli-client\] \d+s ([^\r]*)", received)]


def test_progress_names_the_bash_command_only_when_asked_off_a_terminal(claude):
    _slow_turn(claude.fake)
    shown = claude("--progress", "--allowed-tools", "Bash", "run it")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == ANSWER + "\n"
    assert f"tool Bash: {SLOW_COMMAND}" in _progress_lines(shown.stderr), shown.stderr
    _slow_turn(claude.fake)
    quiet = claude("--allowed-tools", "Bash", "run it")
    assert quiet.returncode == 0 and quiet.stdout == ANSWER + "\n"
    assert quiet.stderr == ""


def test_progress_with_json_is_ndjson_on_stderr_and_stdout_keeps_one_envelope(claude):
    _slow_turn(claude.fake)
    result = claude("--progress", "--json", "--allowed-tools", "Bash", "run it")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 and result.envelope["text"] == ANSWER
    events = json_lines(result.stderr)
    assert events and all(event["type"] == "progress" for event in events)
    assert f"tool Bash: {SLOW_COMMAND}" in [event["activity"] for event in events]
    assert all(event["session_id"] == result.envelope["session_id"] for event in events)
    elapsed = [event["elapsed_s"] for event in events]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 1.0


def test_activities_of_the_real_lines_of_a_turn(claude, tmp_path):
    marker, edited = tmp_path / "never", claude.workdir / "notes.txt"
    claude.fake.add(tool("Bash", {"command": f"touch {marker}", "description": "mark"}),
                    tool("Write", {"file_path": str(edited), "content": "hi"}), text("asked twice"))
    result = claude("--json", "run it")   # both tools need permission: declined by default
    assert result.returncode == 0 and not marker.exists(), result.stderr
    activities = [describe(record["msg"]) for record in result.trace if record.get("dir") == "in"]
    changes = [activity for activity, _ in itertools.groupby(filter(None, activities))]
    bash, write = "tool Bash: " + short(f"touch {marker}"), "editing " + short(str(edited))
    assert changes == ["waiting for the model", "tool Bash", bash, "waiting for approval: " + bash,
                       "waiting for the model", "tool Write", write, "waiting for approval: " + write,
                       "waiting for the model", "writing the answer"]


def test_a_terminal_shows_progress_without_the_option_and_clears_it_before_the_answer(claude):
    _slow_turn(claude.fake)
    exit_code, received, _ = run_on_terminal([CLAUDE_SCRIPT, "--allowed-tools", "Bash", "run it"],
                                             env=claude.env, cwd=claude.workdir, stdout_too=True)
    assert exit_code == 0, received
    assert f"tool Bash: {SLOW_COMMAND}" in _drawn_activities(received), received
    # Answer and progress share the terminal: what stays on screen is the answer alone.
    assert screen_lines(received) == [ANSWER.rstrip()]


def test_a_question_to_the_person_at_the_terminal_is_not_drawn_over(claude, tmp_path):
    marker = tmp_path / "ran"
    claude.fake.add(tool("Bash", {"command": f"touch {marker}", "description": "mark"}), text("ran it"))
    exit_code, received, stdout = run_on_terminal([CLAUDE_SCRIPT, "--interactive-approvals", "run it"],
                                                  env=claude.env, cwd=claude.workdir,
                                                  person=("Allow? [y/N] ", "y\n", 2.5))
    assert exit_code == 0 and stdout == "ran it\n" and marker.exists(), received
    question = received.index("Allow? [y/N] ")
    # The ticks while the person thinks (two at least) leave the question alone.
    assert received[question:].startswith("Allow? [y/N] y\r\n"), received
    assert "Allow? [y/N] y" in screen_lines(received)


def test_progress_is_redrawn_at_most_once_a_second_however_many_messages(claude):
    claude.fake.add(text("piece " * 300, chunks=300, gap=0.01))
    started = time.monotonic()
    exit_code, received, stdout = run_on_terminal([CLAUDE_SCRIPT, "--no-stream", "stream it"],
                                                  env=claude.env, cwd=claude.workdir)
    seconds = time.monotonic() - started
    assert exit_code == 0 and stdout == "piece " * 300 + "\n"
    drawn = received.count("\r[claude-cli-client]")
    assert 1 <= drawn <= seconds + 1, f"{drawn} redraws in {seconds:.1f}s"


def test_repl_shows_progress_for_each_turn(claude):
    _slow_turn(claude.fake)
    _slow_turn(claude.fake, "sleep 2; echo again")
    result = claude("--repl", "--progress", "--allowed-tools", "Bash", stdin="first\nsecond\n")
    assert result.returncode == 0, result.stderr
    activities = _progress_lines(result.stderr)
    assert activities.index(f"tool Bash: {SLOW_COMMAND}") < activities.index("tool Bash: sleep 2; echo again")
