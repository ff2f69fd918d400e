"""Stopping a deliberation (Ctrl-C, --max-time), --until-agree, --as-peer, --spawn, a missing or mismatched client skill."""
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from tests.brainstorm.conftest import BRAINSTORM_SCRIPT, envelope_of, is_running, slow_starting_claude
from fixtures.fakes import anthropic_api
from fixtures.fakes.sse_server import error, hang, text
from fixtures.peers import CONFIG
from tests.helpers import CODEX_BIN, SKILLS, wait_until

TOPIC = "Monorepo or many repositories?"


def start(brainstorm, *args):
    argv = [sys.executable, str(BRAINSTORM_SCRIPT), "--json", "--uri", brainstorm.uri, *map(str, args)]
    return subprocess.Popen(argv, cwd=brainstorm.project, env=brainstorm.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def claude_turns(fake):
    return [body for body in fake.requests if anthropic_api.last_user_text(body)]


def both_asked_round_2(brainstorm):
    return len(brainstorm.codex.requests) >= 2 and len(claude_turns(brainstorm.claude)) >= 2


def test_ctrl_c_stops_both_peers_and_keeps_everything_so_far(brainstorm):
    brainstorm.codex.add(text("codex round 1"), hang())
    brainstorm.claude.add(text("claude round 1"), hang())
    run = start(brainstorm, TOPIC)
    wait_until(lambda: both_asked_round_2(brainstorm), timeout=60, what="both peers asked in round 2")
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    envelope = envelope_of(stdout)
    assert envelope["status"] == "interrupted"
    assert envelope["rounds"][0]["codex"]["text"] == "codex round 1"
    assert envelope["rounds"][0]["claude"]["text"] == "claude round 1"
    round_2 = envelope["rounds"][1]
    assert round_2["codex"]["status"] == round_2["claude"]["status"] == "interrupted"
    assert json.loads(open(envelope["state_file"]).read()) == envelope


def test_max_time_bounds_the_whole_run(brainstorm):
    brainstorm.codex.add(text("codex round 1"), hang())
    brainstorm.claude.add(text("claude round 1"), hang())
    done = brainstorm("--max-time", "8", TOPIC, timeout=60)
    assert done.returncode == 4, done.stderr
    assert done.envelope["status"] == "timeout"
    assert done.envelope["error"] == f"the run reached --max-time; --continue {done.envelope['state_file']} to go on"
    assert done.envelope["rounds"][0]["codex"]["text"] == "codex round 1"
    assert done.envelope["rounds"][1]["claude"]["status"] == "timeout"


def test_max_time_also_bounds_starting_claude(brainstorm, tmp_path):
    """claude is given the run's deadline for its start: at --max-time it is ended, not left starting."""
    brainstorm.codex.add(text("codex round 1"))
    claude_bin, pid_file = slow_starting_claude(tmp_path)
    done = brainstorm("--claude-bin", claude_bin, "--keep-warm", "0", "--max-time", "3", TOPIC, timeout=60)
    assert done.returncode == 4, done.stderr
    assert done.envelope["rounds"][0]["codex"]["text"] == "codex round 1"
    assert done.envelope["rounds"][0]["claude"]["status"] == "timeout"
    assert not is_running(int(pid_file.read_text()))


def test_until_agree_stops_once_both_say_they_converged(brainstorm):
    for fake in (brainstorm.codex, brainstorm.claude):
        fake.default = lambda body: text("We agree on one repository.\nCONVERGED: yes")
    done = brainstorm("--rounds", "5", "--until-agree", TOPIC)
    assert done.returncode == 0, done.stderr
    envelope = done.envelope
    assert len(envelope["rounds"]) == 2 and envelope["converged"] is True
    assert envelope["rounds"][1]["codex"]["converged"] is True and envelope["conclusions"]["after_round"] == 2
    asked = anthropic_api.last_user_text(claude_turns(brainstorm.claude)[1])
    assert "`CONVERGED: yes`" in asked   # the convention is in every reply prompt


def test_the_plain_output_says_whether_both_converged(brainstorm):
    for fake in (brainstorm.codex, brainstorm.claude):
        fake.default = lambda body: text("We agree on one repository.\nCONVERGED: yes")
    argv = [sys.executable, str(BRAINSTORM_SCRIPT), "--uri", brainstorm.uri, "--rounds", "2", TOPIC]
    done = subprocess.run(argv, cwd=brainstorm.project, env=brainstorm.env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "converged: yes" in done.stdout.splitlines()


def test_as_peer_one_call_per_round_with_the_state_in_the_files(brainstorm, tmp_path):
    mine = tmp_path / "mine.md"
    mine.write_text("My blind answer: one repository.")
    brainstorm.codex.default = lambda body: text("codex answers")
    first = brainstorm("--as-peer", "claude", "--my-text", mine, TOPIC)
    assert first.returncode == 0, first.stderr
    assert first.envelope["reply"] == "codex answers" and first.envelope["conclusions"] is None
    assert first.envelope["rounds"][0]["claude"] == {"text": "My blind answer: one repository.", "turn_id": None,
                                                     "status": "completed", "exit_code": 0, "metrics": {},
                                                     "by": "caller"}
    mine.write_text("My reply: codex is right about tooling.\nCONVERGED: no, we still differ on tests\n\nThanks.")
    second = brainstorm("--continue", first.envelope["state_file"], "--as-peer", "claude", "--my-text", mine)
    assert second.returncode == 0, second.stderr
    assert second.envelope["rounds"][1]["claude"]["converged"] is False
    assert "My blind answer: one repository." in brainstorm.codex.requests[1]["input"][-1]["content"][0]["text"]
    mine.write_text("My conclusion: one repository.")
    third = brainstorm("--continue", first.envelope["transcript"], "--as-peer", "claude", "--my-text", mine,
                       "--conclude")
    envelope = third.envelope
    assert len(envelope["rounds"]) == 2 and envelope["conclusions"]["claude"]["text"] == "My conclusion: one repository."
    assert envelope["prompt"] is None   # after the conclusions, no next round is asked for
    assert "codex is right about tooling" in brainstorm.codex.requests[2]["input"][-1]["content"][0]["text"]
    assert len({envelope["codex_thread_id"], first.envelope["codex_thread_id"]}) == 1
    assert claude_turns(brainstorm.claude) == []   # the caller was Claude: the claude CLI never ran
    assert "None" not in Path(envelope["transcript"]).read_text()


def test_as_peer_shows_the_caller_the_prompt_of_its_next_round(brainstorm, tmp_path):
    mine = tmp_path / "mine.md"
    mine.write_text("My blind answer.")
    brainstorm.codex.default = lambda body: text("codex answers")
    first = brainstorm("--as-peer", "claude", "--my-text", mine, TOPIC).envelope
    prompt = first["prompt"]
    assert prompt.startswith("Round 2 of the deliberation on:\nMonorepo or many repositories?")
    assert "Codex answered:\n----\ncodex answers\n----" in prompt and "At most about 300 words" in prompt
    assert prompt.endswith("or `CONVERGED: no` if you do not.")
    shown = brainstorm("--continue", first["state_file"], "--as-peer", "claude")
    assert shown.returncode == 0, shown.stderr
    assert shown.envelope["prompt"] == prompt and shown.envelope["rounds"] == first["rounds"]
    assert len(brainstorm.codex.requests) == 1   # showing the prompt asked nobody
    concluding = brainstorm("--continue", first["state_file"], "--as-peer", "claude", "--conclude").envelope
    assert concluding["prompt"].startswith("The deliberation on the topic below is over.")
    opening = brainstorm("--as-peer", "claude", "Tabs or spaces?").envelope
    assert opening["prompt"].startswith("You are Claude") and "at most about 300 words" in opening["prompt"]
    assert opening["transcript"] is None and len(brainstorm.codex.requests) == 1


def test_as_peer_conclusions_that_failed_are_asked_for_again(brainstorm, tmp_path):
    mine = tmp_path / "mine.md"
    mine.write_text("My blind answer.")
    brainstorm.codex.add(text("codex answers"))
    brainstorm.codex.default = lambda body: error(400, "codex's model refused")
    first = brainstorm("--as-peer", "claude", "--my-text", mine, TOPIC).envelope
    failed = brainstorm("--continue", first["state_file"], "--as-peer", "claude", "--my-text", mine, "--conclude")
    assert failed.returncode == 1, failed.stderr
    assert failed.envelope["prompt"].startswith("The deliberation on the topic below is over.")


def test_bad_arguments_leave_no_files_and_no_python_words(brainstorm, tmp_path):
    empty = tmp_path / "empty.md"
    empty.write_text("")
    for args in (["--style-file", tmp_path / "missing.txt", TOPIC], ["--as-peer", "claude", "--my-text", empty, TOPIC],
                 ["--transcript", "mine.md", "--token-file", tmp_path / "missing", TOPIC]):
        done = brainstorm(*args)
        assert done.returncode == 2, done.stderr
    assert sorted(p.name for p in brainstorm.project.rglob("*") if p.suffix in (".md", ".json")) == []
    brainstorm.codex.default = lambda body: text("codex answers")
    first = brainstorm("--rounds", "0", TOPIC).envelope
    saved = Path(first["state_file"]).read_text()
    refused = brainstorm("--continue", first["state_file"], "--as-peer", "claude", "--my-text", empty)
    assert refused.returncode == 2 and "None" not in refused.stderr, refused.stderr
    assert refused.stderr.strip() == ("brainstorm: error: this deliberation was run without --as-peer: "
                                      "continue it the same way")
    assert Path(first["state_file"]).read_text() == saved


def test_a_missing_client_skill_is_one_line_and_exit_3(tmp_path, brainstorm):
    alone = tmp_path / "skills" / "brainstorm"
    shutil.copytree(SKILLS / "brainstorm", alone)
    done = brainstorm(TOPIC, script=alone / "scripts" / "brainstorm.py")
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"brainstorm: error: the codex-ws-client skill is missing: brainstorm needs it installed beside it "
        f"(looked in {tmp_path / 'skills' / 'codex-ws-client' / 'scripts'}); install the three skills together"]
    assert done.envelope["status"] == "connection_failed"


def test_client_skills_that_cannot_be_loaded_together_are_one_line_and_exit_3(tmp_path, brainstorm):
    """Two skills of different releases meet: the client's ImportError names both; brainstorm says
    that line, no traceback."""
    skills = tmp_path / "skills"
    for skill in ("codex-ws-client", "claude-cli-client", "brainstorm"):
        shutil.copytree(SKILLS / skill, skills / skill, ignore=shutil.ignore_patterns("__pycache__"))
    mismatch = "claude-cli-client 9.9 needs agent_bridge 9.9; codex-ws-client brought 1.0"
    package = skills / "claude-cli-client" / "scripts" / "claude_client" / "__init__.py"
    package.write_text(f"raise ImportError({mismatch!r})\n" + package.read_text())
    done = brainstorm(TOPIC, script=skills / "brainstorm" / "scripts" / "brainstorm.py")
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines() == [f"brainstorm: error: {mismatch}"]
    assert done.envelope["status"] == "connection_failed"


def test_max_time_keeps_the_answer_given_and_continue_asks_only_the_side_it_stopped(brainstorm):
    brainstorm.codex.add(text("codex round 1"), text("codex round 2"))
    brainstorm.claude.add(text("claude round 1 is partly said"), hang())
    done = brainstorm("--rounds", "2", "--max-time", "8", TOPIC, timeout=60)
    assert done.returncode == 4, done.stderr
    round_2 = done.envelope["rounds"][1]
    assert round_2["codex"]["text"] == "codex round 2" and round_2["codex"]["status"] == "completed"
    assert round_2["claude"]["status"] == "timeout" and round_2["claude"]["exit_code"] == 4
    assert json.loads(open(done.envelope["state_file"]).read()) == done.envelope
    codex_asked = len(brainstorm.codex.requests)
    brainstorm.codex.default = lambda body: text("codex concludes")
    brainstorm.claude.default = lambda body: text("claude round 2, again")

    again = brainstorm("--continue", done.envelope["state_file"], "--rounds", "1")
    assert again.returncode == 0, again.stderr
    assert [r["claude"]["text"] for r in again.envelope["rounds"]] == ["claude round 1 is partly said",
                                                                       "claude round 2, again"]
    assert again.envelope["rounds"][1]["codex"]["text"] == "codex round 2"
    assert len(brainstorm.codex.requests) == codex_asked + 1   # only its conclusions


def test_spawn_starts_codex_app_server_where_nothing_answers(brainstorm, tmp_path, unused_port):
    home = tmp_path / "spawn-home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG.format(port=brainstorm.codex.port))
    brainstorm.codex.default = lambda body: text("codex, from the server brainstorm started")
    done = brainstorm("--rounds", "0", "--uri", f"ws://127.0.0.1:{unused_port}", "--spawn", "--codex-bin", CODEX_BIN,
                      TOPIC, env=dict(brainstorm.env, CODEX_HOME=str(home)))
    assert done.returncode == 0, done.stderr
    assert done.envelope["conclusions"]["codex"]["text"] == "codex, from the server brainstorm started"
