"""A council with a Gemini seat (acp-client) beside a Codex and a Claude seat: the real codex
app-server, claude and `gemini --acp`, each against its fake model."""
import json
import shutil
import time
from pathlib import Path

import pytest

from fixtures.fakes import anthropic_api, gemini_api, responses_api
from fixtures.fakes.sse_server import text, tool
from tests.acp.conftest import MODEL as GEMINI_MODEL, fake_gemini  # noqa: F401 - a fixture used below
from tests.brainstorm.test_council import TOPIC, ranking_reply
from tests.acp.test_one_shot import wait_for_the_next_minute
from tests.helpers import SKILLS

SEATS = ["codex:model=alpha", "claude:model=gamma", f"gemini:model={GEMINI_MODEL}"]
WORDS = {"alpha": "kestrel", "gamma": "plover", GEMINI_MODEL: "avocet"}   # each seat's answer, nameless
NAMES = ["codex", "claude", "gemini", "alpha", "gamma", "flash"]


@pytest.fixture
def council(brainstorm, fake_gemini):  # noqa: F811
    """brainstorm with gemini beside the other two: its settings in the same HOME, the fake Gemini API."""
    settings = Path(brainstorm.env["HOME"]) / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    env = dict(brainstorm.env, GEMINI_API_KEY="test-key", GOOGLE_GEMINI_BASE_URL=f"http://127.0.0.1:{fake_gemini.port}",
               GEMINI_CLI_TRUST_WORKSPACE="true")
    prompts = {model: [] for model in WORDS}
    firsts = []   # replies given once before gemini's first answer (a tool call, say)

    def reply(model, prompt):
        if model not in WORDS or not prompt:
            return text("ok")
        prompts[model].append(prompt)
        if model == GEMINI_MODEL and firsts:
            return firsts.pop(0)
        if "Each member answers" in prompt:
            return text(f"opinion {WORDS[model]}")
        if "Rank these" in prompt:
            return text(ranking_reply(prompt, f"revised {WORDS[model]}"))
        return text(f"synthesis by {WORDS[model]}")

    brainstorm.codex.default = lambda body: reply(body.get("model"), responses_api.last_user_text(body))
    brainstorm.claude.default = lambda body: reply(body.get("model"), anthropic_api.last_user_text(body))
    fake_gemini.default = lambda body: reply(GEMINI_MODEL if f"/{GEMINI_MODEL}:" in body["_path"] else None,
                                             gemini_api.last_user_text(body))

    def run(*args, **options):
        return brainstorm(*args, env=env, **options)

    run.prompts = prompts
    run.firsts = firsts
    run.gemini = fake_gemini
    return run


def seat_args(seats=SEATS):
    return [arg for spec in seats for arg in ("--seat", spec)]


def test_a_gemini_seat_answers_ranks_anonymously_and_chairs(council):
    done = council(*seat_args(), "--chair", "3", TOPIC)
    assert done.returncode == 0, done.stderr
    record = done.envelope["council"]
    [stage_1, review] = record["rounds"]
    assert [(e["seat"], e["text"], e["exit_code"]) for e in stage_1["answers"]] == [
        (1, "opinion kestrel", 0), (2, "opinion plover", 0), (3, "opinion avocet", 0)]
    # Gemini's ranking is read: with plover > kestrel > avocet everywhere, seat 2 is first in both rankings.
    gemini_review = review["answers"][2]
    assert [item["seat"] for item in gemini_review["ranking"]] == [2, 1] and gemini_review["text"] == "revised avocet"
    assert [(row["seat"], row["mean_rank"], row["rankings"]) for row in record["aggregate"]] == [
        (2, 1.0, 2), (1, 1.5, 2), (3, 2.0, 2)]
    assert record["chair"]["seat"] == 3 and record["chair"]["text"] == "synthesis by avocet"
    gemini_seat = record["seats"][2]
    assert (gemini_seat["agent"], gemini_seat["model"], gemini_seat["spec"]) == ("gemini", GEMINI_MODEL, SEATS[2])
    assert gemini_seat["session_id"] and gemini_seat["thread_id"] is None
    assert gemini_seat["totals"]["turns"] == 3 and gemini_seat["totals"]["input_tokens"] > 0
    # Nothing the council wrote into gemini's prompts names an agent or a model (the fake API saw them all).
    written = [text_ for body in council.gemini.requests for text_ in gemini_api.user_texts(body)]
    assert len(council.prompts[GEMINI_MODEL]) == 3 and written
    for prompt in written:
        assert not [name for name in NAMES if name in prompt.replace(TOPIC, "").lower()], prompt


def test_an_acp_seat_runs_the_command_its_spec_names(council):
    spec = f"acp:command=gemini --acp -m {GEMINI_MODEL}"
    done = council(*seat_args([SEATS[1], spec]), TOPIC)
    assert done.returncode == 0, done.stderr
    seat = done.envelope["council"]["seats"][1]
    assert (seat["agent"], seat["spec"], seat["model"]) == ("acp", spec, None) and seat["session_id"]
    assert [e["text"] for e in done.envelope["council"]["rounds"][1]["answers"]] == ["revised plover",
                                                                                     "revised avocet"]


def test_a_gemini_seat_runs_a_command_only_with_approve(council, project):
    marker = "echo made > made-{}.txt"
    council.firsts.append(tool("run_shell_command", {"command": marker.format("declined")}))
    declined = council(*seat_args(SEATS[1:]), TOPIC)
    council.firsts.append(tool("run_shell_command", {"command": marker.format("approved")}))
    approved = council(*seat_args(SEATS[1:]), "--approve", "commands", TOPIC)
    assert declined.returncode == 0 and approved.returncode == 0, declined.stderr + approved.stderr
    assert not (project / "made-declined.txt").exists()
    assert (project / "made-approved.txt").read_text() == "made\n"


@pytest.mark.extended
def test_continue_resumes_the_gemini_seat_on_its_session(council):
    first = council(*seat_args(), TOPIC)
    assert first.returncode == 0, first.stderr
    session_id = first.envelope["council"]["seats"][2]["session_id"]
    wait_for_the_next_minute(time.strftime("%Y-%m-%dT%H:%M", time.gmtime()))   # the caveat in usage.md
    again = council("--continue", first.envelope["state_file"])
    assert again.returncode == 0, again.stderr
    assert again.envelope["council"]["seats"][2]["session_id"] == session_id
    [last] = [body for body in council.gemini.requests if "Review round 2" in gemini_api.last_user_text(body)]
    assert any("Review round 1" in said for said in gemini_api.user_texts(last))   # the history came back


def test_a_gemini_seat_without_the_acp_client_skill_is_one_line_and_exit_3(tmp_path, council):
    skills = tmp_path / "skills"
    for skill in ("codex-ws-client", "claude-cli-client", "brainstorm"):
        shutil.copytree(SKILLS / skill, skills / skill, ignore=shutil.ignore_patterns("__pycache__"))
    script = skills / "brainstorm" / "scripts" / "brainstorm.py"
    done = council(*seat_args(), TOPIC, script=script)
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"brainstorm: error: --seat {SEATS[2]}: the acp-client skill is missing: a gemini or acp seat needs it "
        f"installed beside brainstorm (looked in {skills / 'acp-client' / 'scripts'})"]
    assert done.envelope["status"] == "connection_failed" and council.gemini.requests == []
    # Two-peer brainstorm does without it.
    two_peers = council("--rounds", "1", TOPIC, script=script)
    assert two_peers.returncode == 0, two_peers.stderr
