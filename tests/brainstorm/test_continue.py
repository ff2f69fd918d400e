"""--continue: which files it writes, a round left incomplete, two runs of one deliberation."""
import json
import os
import signal
import subprocess
import sys

from fixtures.fakes import anthropic_api, responses_api
from fixtures.fakes.sse_server import error, hang, text
from fixtures.processes import is_running
from tests.brainstorm.conftest import BRAINSTORM_SCRIPT, envelope_of
from tests.helpers import wait_until

TOPIC = "One database or one per service?"
EMPTY_ANSWER = "answered:\n----\n\n----"


def start(brainstorm, *args):
    argv = [sys.executable, str(BRAINSTORM_SCRIPT), "--json", "--uri", brainstorm.uri, *map(str, args)]
    return subprocess.Popen(argv, cwd=brainstorm.project, env=brainstorm.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def claude_prompts(fake):
    return [said for said in map(anthropic_api.last_user_text, fake.requests) if said]


def codex_prompts(fake):
    return [responses_api.last_user_text(body) for body in fake.requests]


def test_continue_writes_the_file_given_and_never_a_path_read_from_it(brainstorm, tmp_path):
    brainstorm.codex.default = lambda body: text("codex answers")
    brainstorm.claude.default = lambda body: text("claude answers")
    first = brainstorm("--rounds", "1", TOPIC).envelope
    original_state = open(first["state_file"]).read()
    unrelated = {name: tmp_path / name for name in ("notes.md", "data.json")}
    for path in unrelated.values():
        path.write_text("not brainstorm's\n")
    copy = dict(first, transcript=str(unrelated["notes.md"]), state_file=str(unrelated["data.json"]),
                codex_thread_id=None, claude_session_id=None)
    copied = tmp_path / "elsewhere" / "copy.json"
    copied.parent.mkdir()
    copied.write_text(json.dumps(copy))

    done = brainstorm("--continue", copied, "--rounds", "1")
    assert done.returncode == 0, done.stderr
    assert done.envelope["state_file"] == str(copied) and done.envelope["transcript"] == str(copied.with_suffix(".md"))
    assert json.loads(copied.read_text()) == done.envelope and len(done.envelope["rounds"]) == 2
    assert "## Round 2" in copied.with_suffix(".md").read_text()
    assert [path.read_text() for path in unrelated.values()] == ["not brainstorm's\n"] * 2
    assert open(first["state_file"]).read() == original_state


def test_continue_after_ctrl_c_redoes_the_interrupted_round(brainstorm):
    brainstorm.codex.add(text("codex round 1"), hang())
    brainstorm.claude.add(text("claude round 1"), hang())
    run = start(brainstorm, TOPIC)
    wait_until(lambda: len(brainstorm.codex.requests) >= 2 and len(claude_prompts(brainstorm.claude)) >= 2,
               timeout=60, what="both peers asked in round 2")
    saved_after_round_1 = next(brainstorm.project.glob(".brainstorm/*.md")).read_text()
    assert "status: inProgress" in saved_after_round_1 and "None" not in saved_after_round_1
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    state = envelope_of(stdout)["state_file"]
    brainstorm.codex.default = lambda body: text("codex again")
    brainstorm.claude.default = lambda body: text("claude again")

    done = brainstorm("--continue", state, "--rounds", "1")
    assert done.returncode == 0, done.stderr
    envelope = done.envelope
    assert [r["round"] for r in envelope["rounds"]] == [1, 2]
    assert envelope["rounds"][1]["codex"]["text"] == "codex again"
    assert envelope["rounds"][1]["claude"]["text"] == "claude again"
    redone_codex, redone_claude = codex_prompts(brainstorm.codex)[2], claude_prompts(brainstorm.claude)[2]
    assert "Round 2" in redone_codex and "claude round 1" in redone_codex and EMPTY_ANSWER not in redone_codex
    assert "Round 2" in redone_claude and "codex round 1" in redone_claude and EMPTY_ANSWER not in redone_claude


def test_continue_after_one_side_failed_asks_only_that_side_again(brainstorm):
    brainstorm.codex.add(text("codex round 1"), text("codex round 2"))
    brainstorm.claude.add(text("claude round 1"))
    brainstorm.claude.default = lambda body: error(400, "claude's model refused")
    first = brainstorm("--rounds", "2", TOPIC)
    assert first.returncode == 1 and first.envelope["rounds"][1]["codex"]["text"] == "codex round 2"
    codex_asked = len(brainstorm.codex.requests)
    brainstorm.codex.default = lambda body: text("codex concludes")
    brainstorm.claude.default = lambda body: text("claude again")

    done = brainstorm("--continue", first.envelope["state_file"], "--rounds", "1")
    assert done.returncode == 0, done.stderr
    rounds = done.envelope["rounds"]
    assert len(rounds) == 2 and rounds[1]["codex"]["text"] == "codex round 2"
    assert rounds[1]["claude"]["text"] == "claude again"
    assert len(brainstorm.codex.requests) == codex_asked + 1   # only its conclusions
    redone = claude_prompts(brainstorm.claude)[-2]
    assert "Round 2" in redone and "codex round 1" in redone
    assert "claude again" in codex_prompts(brainstorm.codex)[-1]   # codex concludes on claude's redone answer


def test_a_second_run_of_one_deliberation_is_refused_while_the_first_runs(brainstorm):
    brainstorm.codex.add(text("codex round 1"))
    brainstorm.claude.add(text("claude round 1"))
    first = brainstorm("--rounds", "1", TOPIC).envelope
    before = open(first["state_file"]).read()
    brainstorm.claude.default = lambda body: hang()
    brainstorm.codex.default = lambda body: hang()
    running = start(brainstorm, "--continue", first["state_file"])
    try:
        wait_until(lambda: len(brainstorm.codex.requests) >= 3, timeout=60, what="the first run asking codex")
        refused = brainstorm("--continue", first["transcript"])
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"brainstorm: error: {first['state_file']} is busy: brainstorm (pid {running.pid}) is running it; "
            "wait for it to end"]
        assert refused.envelope["status"] == "failed"
        assert len(brainstorm.codex.requests) == 3   # the second run asked nobody
    finally:
        running.send_signal(signal.SIGINT)
        running.communicate(timeout=60)
    assert open(first["state_file"]).read() != before   # the first run's interrupted round 2 is kept
    assert not os.path.exists(os.path.splitext(first["state_file"])[0] + ".lock")


def test_the_lock_of_a_killed_run_does_not_block_the_next(brainstorm, tmp_path):
    mine = tmp_path / "mine.md"
    mine.write_text("Codex's side, by the caller.")
    brainstorm.claude.add(text("claude round 1"))
    first = brainstorm("--as-peer", "codex", "--my-text", mine, TOPIC).envelope
    brainstorm.claude.default = lambda body: hang()
    killed = start(brainstorm, "--continue", first["state_file"], "--as-peer", "codex", "--my-text", mine)
    wait_until(lambda: len(claude_prompts(brainstorm.claude)) >= 2, timeout=60, what="claude asked in round 2")
    killed.kill()
    killed.communicate(timeout=60)
    lock = os.path.splitext(first["state_file"])[0] + ".lock"
    assert os.path.exists(lock)
    brainstorm.claude.default = lambda body: text("claude round 2")

    done = brainstorm("--continue", first["state_file"], "--as-peer", "codex", "--my-text", mine)
    assert done.returncode == 0, done.stderr
    assert [r["claude"]["text"] for r in done.envelope["rounds"]] == ["claude round 1", "claude round 2"]
    assert not os.path.exists(lock)


def test_a_lock_whose_pid_is_now_another_process_is_taken_over(brainstorm):
    brainstorm.codex.default = lambda body: text("codex answers")
    brainstorm.claude.default = lambda body: text("claude answers")
    first = brainstorm("--rounds", "0", TOPIC).envelope
    lock = os.path.splitext(first["state_file"])[0] + ".lock"
    with open(lock, "w") as handle:   # this test's own pid, with a start time it never had
        json.dump({"pid": os.getpid(), "identity": "1", "started": "2020-01-01T00:00:00"}, handle)
    done = brainstorm("--continue", first["state_file"])
    assert done.returncode == 0, done.stderr
    assert len(done.envelope["rounds"]) == 1


def test_as_peer_after_the_peer_failed_redoes_the_round_with_the_callers_new_text(brainstorm, tmp_path):
    mine = tmp_path / "mine.md"
    mine.write_text("My blind answer, first try.")
    brainstorm.codex.add(error(400, "codex's model refused"))
    brainstorm.codex.default = lambda body: text("codex answers")
    first = brainstorm("--as-peer", "claude", "--my-text", mine, TOPIC)
    assert first.returncode == 1 and first.envelope["rounds"][0]["codex"]["exit_code"] == 1, first.stderr
    assert first.envelope["prompt"].startswith("You are Claude")   # the next call is round 1 again
    mine.write_text("My blind answer, second try.")

    done = brainstorm("--continue", first.envelope["state_file"], "--as-peer", "claude", "--my-text", mine)
    assert done.returncode == 0, done.stderr
    [round_1] = done.envelope["rounds"]
    assert round_1["claude"]["text"] == "My blind answer, second try." and round_1["codex"]["text"] == "codex answers"
    assert "My blind answer" not in codex_prompts(brainstorm.codex)[-1]   # round 1 is still blind


def test_continue_right_after_a_kill_9_stops_the_dead_runs_turns_and_redoes_the_round_once(brainstorm):
    brainstorm.codex.add(text("codex round 1"), text("codex concludes"))
    brainstorm.claude.add(text("claude round 1"), text("claude concludes"))
    first = brainstorm("--rounds", "1", TOPIC).envelope
    brainstorm.codex.default = lambda body: hang()
    brainstorm.claude.default = lambda body: hang()
    killed = start(brainstorm, "--continue", first["state_file"])
    wait_until(lambda: len(codex_prompts(brainstorm.codex)) >= 3 and len(claude_prompts(brainstorm.claude)) >= 3,
               timeout=60, what="both peers asked in round 2")
    killed.kill()
    killed.communicate(timeout=60)
    left_running = json.load(open(os.path.splitext(first["state_file"])[0] + ".lock")).get("peers", [])
    asked_before = len(codex_prompts(brainstorm.codex)), len(claude_prompts(brainstorm.claude))
    brainstorm.codex.default = lambda body: text("codex round 2")
    brainstorm.claude.default = lambda body: text("claude round 2")

    done = brainstorm("--continue", first["state_file"], "--rounds", "1")
    assert done.returncode == 0, done.stderr
    assert [(r["codex"]["text"], r["claude"]["text"]) for r in done.envelope["rounds"]] == [
        ("codex round 1", "claude round 1"), ("codex round 2", "claude round 2")]
    assert "was killed: stopping what it left running" in done.stderr
    redone_codex = [said for said in codex_prompts(brainstorm.codex)[asked_before[0]:] if "Round 2" in said]
    redone_claude = [said for said in claude_prompts(brainstorm.claude)[asked_before[1]:] if "Round 2" in said]
    assert len(redone_codex) == 1 and len(redone_claude) == 1
    [orphan] = left_running   # the killed run's claude, which kept the session busy
    wait_until(lambda: not is_running(orphan["pid"]), timeout=10, what="the killed run's claude ended")


def test_continue_finds_claude_kept_warm_unless_told_not_to(brainstorm, tmp_path):
    from tests.claude.test_warm_sessions import counting_claude
    brainstorm.codex.default = lambda body: text("codex answers")
    brainstorm.claude.default = lambda body: text("claude answers")
    claude_bin, starts = counting_claude(tmp_path)
    first = brainstorm("--rounds", "1", "--claude-bin", claude_bin, TOPIC).envelope
    assert brainstorm("--continue", first["state_file"], "--claude-bin", claude_bin).returncode == 0
    assert len(starts()) == 1, "--continue talked to the claude the first run kept warm"
    cold = brainstorm("--rounds", "1", "--claude-bin", claude_bin, "--keep-warm", "0", TOPIC).envelope
    assert brainstorm("--continue", cold["state_file"], "--claude-bin", claude_bin, "--keep-warm", "0").returncode == 0
    assert len(starts()) == 3, "with --keep-warm 0 each run starts its own claude"
