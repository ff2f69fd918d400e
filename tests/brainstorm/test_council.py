"""A council (--seat) against the real codex app-server and the real claude CLI, each with its fake model.

Each seat has a model name of its own, so the fakes know which seat a request is for; the answers
they give name no seat, so whatever in a prompt names an agent or a model was written by the council."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fixtures.fakes import anthropic_api, responses_api
from fixtures.fakes.sse_server import error, hang, text, tool
from tests.brainstorm.conftest import BRAINSTORM_SCRIPT, envelope_of, is_running, slow_starting_claude
from tests.codex.test_default_server import daemon_env  # noqa: F401 - a fixture used below
from tests.helpers import CODEX_BIN, wait_until

TOPIC = "Should the build cache live in the repository or beside it?"
SEATS = ["codex:model=alpha", "codex:model=beta,effort=low", "claude:model=gamma", "claude:model=delta"]
MODELS = ["alpha", "beta", "gamma", "delta"]
WORDS = {"alpha": "kestrel", "beta": "heron", "gamma": "plover", "delta": "avocet"}   # each seat's answer, nameless
PREFERENCE = ["plover", "kestrel", "avocet", "heron"]   # every reviewer ranks the answers in this order
NAMES = ["codex", "claude", "alpha", "beta", "gamma", "delta"]
LABELLED = re.compile(r"^### Answer ([A-Z])\n\n(.*?)(?=\n\n### Answer |\n\nRank these)", re.M | re.S)


class Seats:
    """The fake models' side of a council: what each seat answers in each stage, and what it was asked."""

    def __init__(self, brainstorm, slow_first=None):
        self.prompts = {model: [] for model in MODELS}
        self.lock = threading.Lock()
        self.slow_first = slow_first   # {model: Reply options} for the stage-1 answers
        brainstorm.codex.default = lambda body: self.reply(body, responses_api.last_user_text(body))
        brainstorm.claude.default = lambda body: self.reply(body, anthropic_api.last_user_text(body))
        self.replies = {}   # {(model, stage): reply factory} to override
        self.first_answers = []   # the stage-1 replies given

    def reply(self, body, prompt):
        model = body.get("model")
        if model not in WORDS or not prompt:
            return text("ok")
        with self.lock:
            self.prompts[model].append(prompt)
        stage = "answer" if "Each member answers" in prompt else "review" if "Rank these" in prompt else "chair"
        override = self.replies.get((model, stage))
        if override:
            return override(prompt)
        if stage == "answer":
            self.first_answers.append(text(f"opinion {WORDS[model]}", **(self.slow_first or {}).get(model, {})))
            return self.first_answers[-1]
        if stage == "review":
            return text(ranking_reply(prompt, f"revised {WORDS[model]}"))
        return text(f"synthesis by {WORDS[model]}")

    def asked(self, model, stage_word):
        return [prompt for prompt in self.prompts[model] if stage_word in prompt]


def ranking_reply(prompt, revised):
    """A ranking of the prompt's labelled answers by PREFERENCE, then the revised answer."""
    shown = dict(LABELLED.findall(prompt))
    order = sorted(shown, key=lambda label: next(i for i, word in enumerate(PREFERENCE) if word in shown[label]))
    ranking = [{"label": label, "reason": f"{shown[label].split()[-1]} reasons well"} for label in order]
    return f"```json\n{json.dumps({'ranking': ranking})}\n```\n\n{revised}"


def start(brainstorm, *args):
    argv = [sys.executable, str(BRAINSTORM_SCRIPT), "--json", "--uri", brainstorm.uri, *map(str, args)]
    return subprocess.Popen(argv, cwd=brainstorm.project, env=brainstorm.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def seat_args(seats=SEATS):
    return [arg for spec in seats for arg in ("--seat", spec)]


def test_four_seats_answer_at_once_rank_each_other_and_the_best_ranked_chairs(brainstorm):
    # Each first answer waits until all four seats have asked their model: asked one after the other,
    # the first would wait in vain. Then they come back at different times.
    everyone_asked = lambda: all(seats.asked(model, "Each member answers") for model in MODELS)  # noqa: E731
    seats = Seats(brainstorm, {model: {"until": everyone_asked, "gap": 0.1 * number, "chunks": 3}
                               for number, model in enumerate(MODELS)})
    done = brainstorm(*seat_args(), "--rounds", "1", TOPIC)
    assert done.returncode == 0, done.stderr
    assert len(seats.first_answers) == 4 and all(reply.until_met for reply in seats.first_answers)
    council = done.envelope["council"]

    [stage_1, review] = council["rounds"]
    assert [(e["seat"], e["text"], e["exit_code"]) for e in stage_1["answers"]] == [
        (1, "opinion kestrel", 0), (2, "opinion heron", 0), (3, "opinion plover", 0), (4, "opinion avocet", 0)]
    assert [e["text"] for e in review["answers"]] == ["revised kestrel", "revised heron", "revised plover",
                                                       "revised avocet"]
    # Mean rank per seat over the four rankings: plover (seat 3) always first, heron (seat 2) always last.
    assert [(row["seat"], row["mean_rank"], row["rankings"]) for row in council["aggregate"]] == [
        (3, 1.0, 3), (1, 1.667, 3), (4, 2.333, 3), (2, 3.0, 3)]
    for entry in review["answers"]:
        assert sorted(item["seat"] for item in entry["ranking"]) == [s for s in (1, 2, 3, 4) if s != entry["seat"]]
    assert (council["chair"]["seat"], council["chair"]["chosen_by"], council["chair"]["tied_with"]) == (
        3, "best mean rank", [])
    assert council["chair"]["text"] == "synthesis by plover" and council["problems"] == []

    assert [seat["model"] for seat in council["seats"]] == MODELS and council["seats"][1]["effort"] == "low"
    assert all(seat["thread_id"] for seat in council["seats"][:2]) and all(s["session_id"] for s in council["seats"][2:])
    assert len({seat["thread_id"] or seat["session_id"] for seat in council["seats"]}) == 4
    assert [seat["totals"]["turns"] for seat in council["seats"]] == [2, 2, 3, 2]
    totals = done.envelope["totals"]
    assert totals["turns"] == 9 and totals["input_tokens"] == sum(s["totals"]["input_tokens"] for s in council["seats"])
    assert totals["cost_usd"] > 0 and council["seats"][0]["totals"]["cost_usd"] == 0   # claude's cost only

    markdown = Path(done.envelope["transcript"]).read_text()
    assert json.loads(Path(done.envelope["state_file"]).read_text()) == done.envelope
    headings = re.findall(r"^## (.*)$", markdown, re.M)
    assert headings == ["Topic", "Synthesis (seat 3, chair by best mean rank, after round 1)",
                        "Stage 1: the answers", "Stage 2, review round 1"]
    # Mean ranks are written alike, two decimals each.
    assert "| 3 (chair) | `claude:model=gamma` | 1.00 (3 rankings) |" in markdown
    assert "| 1 | `codex:model=alpha` | 1.67 (3 rankings) |" in markdown


def test_no_prompt_names_a_seat_and_each_seat_sees_the_others_under_its_own_labels(brainstorm):
    seats = Seats(brainstorm)
    done = brainstorm(*seat_args(), "--rounds", "2", TOPIC)
    assert done.returncode == 0, done.stderr
    council = done.envelope["council"]
    for seat, model in enumerate(MODELS, 1):
        for prompt in seats.prompts[model]:
            written = prompt.replace(TOPIC, "")
            assert not [name for name in NAMES if name in written.lower()], prompt
        for number in (1, 2):
            [prompt] = [p for p in seats.asked(model, "Rank these") if p.startswith(f"Review round {number} ")]
            shown = {label: said.strip() for label, said in LABELLED.findall(prompt)}
            entry = council["rounds"][number]["answers"][seat - 1]
            earlier = {e["seat"]: e["text"] for e in council["rounds"][number - 1]["answers"]}
            assert shown == {label: earlier[other] for label, other in entry["labels"].items()}
            assert sorted(entry["labels"]) == ["A", "B", "C"] and seat not in entry["labels"].values()


def test_the_chair_given_sees_every_answer_and_the_mean_ranks(brainstorm):
    seats = Seats(brainstorm)
    done = brainstorm(*seat_args(), "--chair", "2", TOPIC)
    assert done.returncode == 0, done.stderr
    assert done.envelope["council"]["chair"]["seat"] == 2 and done.envelope["council"]["chair"]["chosen_by"] == "--chair"
    [prompt] = seats.asked("beta", "You chair the council")
    for word, member, mean in (("kestrel", 1, "1.67"), ("heron", 2, "3.00"), ("plover", 3, "1.00"),
                               ("avocet", 4, "2.33")):
        you = " (you)" if member == 2 else ""
        assert f"### Member {member}{you}: mean rank {mean}\n\nrevised {word}" in prompt
    assert "plover reasons well" in prompt
    assert not any(seats.asked(model, "You chair the council") for model in ("alpha", "gamma", "delta"))


def test_a_seat_that_fails_and_a_ranking_that_cannot_be_read_leave_the_others_going(brainstorm):
    seats = Seats(brainstorm)
    seats.replies[("delta", "answer")] = lambda prompt: error(400, "delta's model refused")
    seats.replies[("delta", "review")] = lambda prompt: error(400, "delta's model refused again")
    seats.replies[("beta", "review")] = lambda prompt: text("I rank A first, then the rest.\n\nrevised heron")
    done = brainstorm(*seat_args(), TOPIC)
    assert done.returncode == 0, done.stderr
    council = done.envelope["council"]
    [stage_1, review] = council["rounds"]
    assert [e["exit_code"] for e in stage_1["answers"]] == [0, 0, 0, 1]
    assert "delta's model refused" in stage_1["answers"][3]["error"]
    assert sorted(review["answers"][0]["labels"].values()) == [2, 3]   # seat 4 had no answer to show
    assert review["answers"][1]["ranking"] is None and review["answers"][1]["text"].endswith("revised heron")
    # Seat 1 ranked seats 3 and 2, seat 3 ranked seats 1 and 2: seats 1 and 3 tie, the lower number chairs.
    assert [(row["seat"], row["mean_rank"], row["rankings"]) for row in council["aggregate"]] == [
        (1, 1.0, 1), (3, 1.0, 1), (2, 2.0, 2), (4, None, 0)]
    assert council["chair"]["seat"] == 1 and council["chair"]["text"] == "synthesis by kestrel"
    assert (council["chair"]["chosen_by"], council["chair"]["tied_with"]) == ("best mean rank", [3])
    assert ("## Synthesis (seat 1, chair by best mean rank, tied with seat 3: the lower number chairs, after round 1)"
            in Path(done.envelope["transcript"]).read_text())
    assert [problem.split(":")[0] for problem in council["problems"]] == [
        "seat 4, round 0", "seat 2, round 1", "seat 4, round 1"]
    assert "ranking left out: no fenced JSON block" in council["problems"][1]


def test_without_a_ranking_read_the_lowest_seat_chairs_and_the_plain_output_says_so(brainstorm):
    seats = Seats(brainstorm)
    for model in ("alpha", "gamma"):
        seats.replies[(model, "review")] = lambda prompt: text("Both are fine.\n\nrevised")
    done = subprocess.run([sys.executable, str(BRAINSTORM_SCRIPT), "--uri", brainstorm.uri,
                           *seat_args(["codex:model=alpha", "claude:model=gamma"]), TOPIC],
                          cwd=brainstorm.project, env=brainstorm.env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "## Synthesis (seat 1, chair by lowest seat number: no ranking could be read)"
    assert "synthesis by kestrel" in lines
    assert [line for line in lines if line.startswith("seat ")] == ["seat 1: not ranked", "seat 2: not ranked"]
    assert [line.split(":")[1] for line in lines if line.startswith("problem: ")] == [" seat 1, round 1",
                                                                                        " seat 2, round 1"]
    state = json.loads(Path(lines[-1].removeprefix("state: ")).read_text())
    chair = state["council"]["chair"]
    assert (chair["seat"], chair["chosen_by"], chair["tied_with"]) == (
        1, "lowest seat number: no ranking could be read", [])


def test_continue_after_ctrl_c_redoes_the_interrupted_stage_for_the_seats_it_lacks(brainstorm):
    seats = Seats(brainstorm)
    seats.replies[("gamma", "review")] = lambda prompt: hang()
    seats.replies[("alpha", "review")] = lambda prompt: hang()
    run = start(brainstorm, *seat_args(), TOPIC)
    wait_until(lambda: seats.asked("gamma", "Rank these") and seats.asked("alpha", "Rank these")
               and seats.asked("beta", "Rank these") and seats.asked("delta", "Rank these"),
               timeout=60, what="every seat asked to review")
    state = next(brainstorm.project.glob(".brainstorm/*.json"))
    wait_until(lambda: len(json.loads(state.read_text())["council"]["rounds"]) == 1, what="stage 1 saved")
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    stopped = envelope_of(stdout)
    assert stopped["status"] == "interrupted" and stopped["council"]["chair"] is None
    stopped_seats = [e["exit_code"] == 130 for e in stopped["council"]["rounds"][1]["answers"]]
    assert stopped_seats[0] and stopped_seats[2]   # the two that hung; the others may have answered in time
    del seats.replies[("gamma", "review")], seats.replies[("alpha", "review")]

    done = brainstorm("--continue", stopped["state_file"])
    assert done.returncode == 0, done.stderr
    council = done.envelope["council"]
    assert [r["round"] for r in council["rounds"]] == [0, 1]
    assert [e["text"] for e in council["rounds"][1]["answers"]] == ["revised kestrel", "revised heron",
                                                                   "revised plover", "revised avocet"]
    # Only the seats it lacked were asked again.
    assert [len(seats.asked(model, "Rank these")) for model in MODELS] == [1 + again for again in stopped_seats]
    assert [len(seats.asked(model, "Each member answers")) for model in MODELS] == [1, 1, 1, 1]
    assert council["chair"]["seat"] == 3 and done.envelope["council"]["problems"] == []
    # The stopped answers are kept aside, and their turns still count.
    replaced = council["rounds"][1]["replaced"]
    assert [(e["seat"], e["status"]) for e in replaced] == [
        (seat, "interrupted") for seat, again in enumerate(stopped_seats, 1) if again]
    assert done.envelope["totals"]["turns"] == 4 + 4 + sum(stopped_seats) + 1
    asked_again = ", ".join(str(seat) for seat, again in enumerate(stopped_seats, 1) if again)
    assert f"stage 2, review round 1 again: asking seat(s) {asked_again}" in done.stderr


def test_two_continues_of_one_council_at_once_the_second_is_refused(brainstorm):
    seats = Seats(brainstorm)
    first = brainstorm(*seat_args(SEATS[:2] + SEATS[2:3]), TOPIC).envelope
    seats.replies[("alpha", "review")] = lambda prompt: hang()
    running = start(brainstorm, "--continue", first["state_file"])
    try:
        wait_until(lambda: all(len(seats.asked(model, "Rank these")) == 2 for model in MODELS[:3]), timeout=60,
                   what="the first continue asking every seat")   # then it waits for alpha's answer, forever
        asked = sum(map(len, seats.prompts.values()))
        refused = brainstorm("--continue", first["transcript"])
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            f"brainstorm: error: {first['state_file']} is busy: brainstorm (pid {running.pid}) is running it; "
            "wait for it to end"]
        assert sum(map(len, seats.prompts.values())) == asked   # the second run asked nobody
    finally:
        running.send_signal(signal.SIGINT)
        running.communicate(timeout=60)
    assert not os.path.exists(os.path.splitext(first["state_file"])[0] + ".lock")


def test_max_turns_stops_before_a_stage_that_would_pass_it_and_continue_goes_on(brainstorm):
    seats = Seats(brainstorm)
    stopped = brainstorm(*seat_args(SEATS[:3]), "--max-turns", "5", TOPIC)
    assert stopped.returncode == 4 and "--max-turns 5" in stopped.envelope["error"]
    assert stopped.envelope["error"].endswith(f"; --continue {stopped.envelope['state_file']} to go on")
    assert [r["round"] for r in stopped.envelope["council"]["rounds"]] == [0]
    assert sum(map(len, seats.prompts.values())) == 3
    done = brainstorm("--continue", stopped.envelope["state_file"], "--max-turns", "4")
    assert done.returncode == 0, done.stderr
    assert done.envelope["totals"]["turns"] == 7 and done.envelope["council"]["chair"]["seat"] == 3


def test_bad_seats_and_options_are_one_line_errors(brainstorm):
    two = ["--seat", "codex", "--seat", "claude"]
    for args, message in ((["--seat", "codex"], "a council has 2 to 6 seats: 1 --seat given"),
                          (["--seat", "codex", "--seat", "llama"], "--seat llama: the agent is one of codex, claude, gemini, acp"),
                          (["--seat", "codex", "--seat", "claude:temperature=1"], "'temperature=1' is not one of"),
                          ([*two, "--chair", "3"], "--chair 3: the council's seats are 1 to 2"),
                          ([*two, "--as-peer", "codex"], "--as-peer is not for a council"),
                          ([*two, "--rounds", "0"], "a council has at least 1 review round"),
                          (["--chair", "1"], "--chair and --max-turns go with --seat")):
        done = brainstorm(*args, TOPIC)
        assert done.returncode == 2 and done.envelope["status"] == "bad_arguments"
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("brainstorm: error: ") and message in line, line
    assert not list(brainstorm.project.glob(".brainstorm/*.json"))


def test_max_time_bounds_the_council_through_each_turn_and_keeps_the_answers_so_far(brainstorm):
    seats = Seats(brainstorm)
    seats.replies[("beta", "answer")] = lambda prompt: hang("half an opinion")
    codex_seats = ["codex:model=alpha", "codex:model=beta", "codex:model=gamma"]
    stopped = brainstorm(*seat_args(codex_seats), "--max-time", "3", TOPIC)
    assert stopped.returncode == 4, stopped.stderr
    assert stopped.envelope["error"] == ("the council reached --max-time; the seats still answering were stopped; "
                                         f"--continue {stopped.envelope['state_file']} to go on")
    [stage_1] = stopped.envelope["council"]["rounds"]   # no review round began
    assert [(e["text"], e["status"]) for e in stage_1["answers"]] == [
        ("opinion kestrel", "completed"), ("half an opinion", "timeout"), ("opinion plover", "completed")]
    del seats.replies[("beta", "answer")]

    done = brainstorm("--continue", stopped.envelope["state_file"])
    assert done.returncode == 0, done.stderr
    assert done.envelope["council"]["rounds"][0]["answers"][1]["text"] == "opinion heron"
    assert [len(seats.asked(model, "Each member answers")) for model in ("alpha", "beta", "gamma")] == [1, 2, 1]


def test_max_time_also_bounds_starting_a_claude_seat(brainstorm, tmp_path):
    """claude is given the council's deadline for its start: at --max-time it is ended, not left starting."""
    Seats(brainstorm)
    claude_bin, pid_file = slow_starting_claude(tmp_path)
    stopped = brainstorm(*seat_args(["codex:model=alpha", "claude:model=gamma"]), "--claude-bin", claude_bin,
                         "--keep-warm", "0", "--max-time", "3", TOPIC)
    assert stopped.returncode == 4, stopped.stderr
    [stage_1] = stopped.envelope["council"]["rounds"]
    assert [(e["text"], e["status"]) for e in stage_1["answers"]] == [("opinion kestrel", "completed"),
                                                                        ("", "timeout")]
    assert not is_running(int(pid_file.read_text()))


def first_then(first, then):
    """An override that gives `first` once (a tool call), then what `then` gives (the answer after it)."""
    given = []
    return lambda prompt: then(prompt) if given else given.append(1) or first


def test_approve_lets_every_seat_run_commands_and_without_it_none_runs(brainstorm):
    seats = Seats(brainstorm)

    def run_commands(tag):
        seats.replies[("alpha", "answer")] = first_then(
            tool("exec_command", {"cmd": f"touch codex-{tag}", "sandbox_permissions": "require_escalated",
                                  "justification": "a marker"}), lambda prompt: text("opinion kestrel"))
        seats.replies[("gamma", "answer")] = first_then(
            tool("Bash", {"command": f"touch claude-{tag}", "description": "a marker"}),
            lambda prompt: text("opinion plover"))

    run_commands("declined")
    declined = brainstorm(*seat_args(["codex:model=alpha", "claude:model=gamma"]), TOPIC)
    run_commands("approved")
    approved = brainstorm(*seat_args(["codex:model=alpha", "claude:model=gamma"]), "--approve", "commands", TOPIC)
    assert declined.returncode == 0 and approved.returncode == 0, declined.stderr + approved.stderr
    made = sorted(path.name for path in brainstorm.project.iterdir() if path.name.startswith(("codex-", "claude-")))
    assert made == ["claude-approved", "codex-approved"]


def test_continue_of_a_council_done_adds_a_round_and_a_new_synthesis_keeping_the_earlier(brainstorm):
    seats = Seats(brainstorm)
    first = brainstorm(*seat_args(SEATS[:3]), TOPIC).envelope
    done = brainstorm("--continue", first["state_file"], "--chair", "2")
    assert done.returncode == 0, done.stderr
    council = done.envelope["council"]
    assert [r["round"] for r in council["rounds"]] == [0, 1, 2]
    assert [(c["seat"], c["chosen_by"], c["after_round"]) for c in council["earlier_chairs"]] == [
        (3, "best mean rank", 1)]
    assert (council["chair"]["seat"], council["chair"]["chosen_by"], council["chair"]["after_round"]) == (2, "--chair", 2)
    # Round 2 shows each seat the others' answers of round 1, on the same threads and sessions.
    round_2 = [seats.asked(model, "Review round 2 ") for model in MODELS[:3]]
    assert [len(asked) for asked in round_2] == [1, 1, 1] and all("revised" in asked[0] for asked in round_2)
    assert [(s["thread_id"], s["session_id"]) for s in council["seats"]] == [
        (s["thread_id"], s["session_id"]) for s in first["council"]["seats"]]


@pytest.mark.xdist_group("default-port")   # what answers at the default port decides where the seats go
def test_two_codex_seats_on_a_fresh_codex_home_start_the_daemon_once(daemon_env, project):  # noqa: F811
    done = subprocess.run([sys.executable, str(BRAINSTORM_SCRIPT), "--json", "--codex-bin", str(CODEX_BIN),
                           *seat_args(["codex:model=alpha", "codex:model=beta"]), TOPIC],
                          cwd=project, env=daemon_env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("starting the codex app-server daemon for the first time") == 1, done.stderr
    assert done.stderr.count("started the codex app-server daemon") == 1, done.stderr
    assert len({seat["thread_id"] for seat in envelope_of(done.stdout)["council"]["seats"]}) == 2
