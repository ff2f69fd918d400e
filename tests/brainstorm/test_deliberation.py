"""A whole deliberation against the real codex app-server and the real claude CLI (fake models)."""
import itertools
import json
import re
from pathlib import Path

from fixtures.fakes import anthropic_api, responses_api
from fixtures.fakes.sse_server import error, text

TOPIC = "Should the parser keep its own tokenizer?"


def numbered_answers(fake, side, last_line=""):
    """Each answer of a fake model names its side and its number: 'codex answer 1', ..."""
    numbers = itertools.count(1)
    fake.default = lambda body: text(f"{side} answer {next(numbers)}{last_line}")


def turn_requests(fake, last_user_text):
    """The model requests that carry a turn's prompt (claude also sends requests of its own)."""
    return [body for body in fake.requests if last_user_text(body)]


def test_each_peer_keeps_its_thread_and_gets_the_others_previous_answer(brainstorm):
    numbered_answers(brainstorm.codex, "codex")
    numbered_answers(brainstorm.claude, "claude")
    done = brainstorm(TOPIC)
    assert done.returncode == 0, done.stderr
    envelope = done.envelope
    assert [r["round"] for r in envelope["rounds"]] == [1, 2, 3]   # --rounds defaults to 3
    assert [r["codex"]["text"] for r in envelope["rounds"]] == ["codex answer 1", "codex answer 2", "codex answer 3"]
    assert envelope["conclusions"]["codex"]["text"] == "codex answer 4"
    assert envelope["conclusions"]["claude"]["text"] == "claude answer 4"

    codex_prompts = [responses_api.last_user_text(b) for b in brainstorm.codex.requests]
    claude_bodies = turn_requests(brainstorm.claude, anthropic_api.last_user_text)
    claude_prompts = [anthropic_api.last_user_text(b) for b in claude_bodies]
    assert len(codex_prompts) == len(claude_prompts) == 4
    # Round 1 is blind; round N carries the other's answer of round N-1; the conclusions the last one.
    assert TOPIC in codex_prompts[0] and TOPIC in claude_prompts[0]
    assert "claude answer" not in codex_prompts[0] and "codex answer" not in claude_prompts[0]
    for number in (1, 2, 3):
        assert f"claude answer {number}" in codex_prompts[number]
        assert f"codex answer {number}" in claude_prompts[number]
        assert f"codex answer {number}" not in codex_prompts[number]
    # One thread, one session: every request holds the whole conversation before it.
    last_codex = json.dumps(brainstorm.codex.requests[-1]["input"])
    assert all(f"codex answer {n}" in last_codex for n in (1, 2, 3))
    assert anthropic_api.all_user_texts(claude_bodies[-1])[-4:] == claude_prompts
    assert len({r["codex"]["turn_id"] for r in envelope["rounds"]}) == 3
    assert envelope["codex_thread_id"] and envelope["claude_session_id"]
    assert envelope["totals"]["input_tokens"] > 0 and envelope["totals"]["cost_usd"] > 0


def test_round_one_runs_both_peers_in_parallel(brainstorm):
    # Each model answers only once the other has been asked: one after the other, the first waits in vain.
    codex_answer = text("codex, slowly", until=lambda: brainstorm.claude.requests)
    claude_answer = text("claude, slowly", until=lambda: brainstorm.codex.requests)
    brainstorm.codex.add(codex_answer)
    brainstorm.claude.add(claude_answer)
    done = brainstorm("--rounds", "1", TOPIC)
    assert done.returncode == 0, done.stderr
    assert done.envelope["rounds"][0]["codex"]["text"] == "codex, slowly"
    assert done.envelope["rounds"][0]["claude"]["text"] == "claude, slowly"
    assert codex_answer.until_met and claude_answer.until_met, "both peers' requests were not in flight at once"


CODE_ANSWER = "codex: a | b\n\n```python\ndef pick(a, b):\n    return a if a else b\n```\nsecond line"


def test_transcript_and_envelope_agree(brainstorm):
    brainstorm.codex.default = lambda body: text(CODE_ANSWER)
    numbered_answers(brainstorm.claude, "claude")
    done = brainstorm("--rounds", "2", TOPIC)
    envelope = done.envelope
    transcript = Path(envelope["transcript"])
    assert transcript.parent == brainstorm.project / ".brainstorm" and transcript.suffix == ".md"
    assert json.loads(Path(envelope["state_file"]).read_text()) == envelope
    markdown = transcript.read_text()
    expected = [(f"Round {r['round']}", r["codex"]["text"], r["claude"]["text"]) for r in envelope["rounds"]]
    expected.append(("Conclusions after round 2", envelope["conclusions"]["codex"]["text"],
                     envelope["conclusions"]["claude"]["text"]))
    assert read_sections(markdown) == expected
    assert CODE_ANSWER in markdown   # code blocks intact, one answer after the other
    assert envelope["codex_thread_id"] in markdown
    assert "- converged: no" in markdown


def test_an_answer_with_an_unclosed_code_fence_cannot_swallow_the_next_heading(brainstorm):
    unclosed = "Keep it:\n\n````python\ntokens = lex(source)\n```\nstill inside"
    brainstorm.codex.default = lambda body: text(unclosed)
    brainstorm.claude.default = lambda body: text("claude answers")
    envelope = brainstorm("--rounds", "1", TOPIC).envelope
    assert envelope["rounds"][0]["codex"]["text"] == unclosed   # the record keeps the answer as it was
    markdown = Path(envelope["transcript"]).read_text()
    assert f"### Codex\n\n{unclosed}\n````\n\n### Claude\n\nclaude answers" in markdown
    assert read_sections(markdown)[0] == ("Round 1", unclosed + "\n````", "claude answers")


def test_a_topic_with_an_unclosed_code_fence_cannot_swallow_the_rounds(brainstorm):
    topic = "Is this right?\n```python\ndef f():\n    return 1"
    envelope = brainstorm("--rounds", "1", topic).envelope
    markdown = Path(envelope["transcript"]).read_text()
    assert f"## Topic\n\n{topic}\n```\n\n## Round 1" in markdown


def read_sections(markdown):
    """(heading, codex's answer, claude's answer) of each round and set of conclusions."""
    sections = re.split(r"^## ", markdown, flags=re.M)[1:]
    found = []
    for section in sections:
        heading, _, body = section.partition("\n")
        answers = dict(re.findall(r"^### (Codex|Claude)\n\n(.*?)\n(?=### |\Z)", body, re.M | re.S))
        if answers:
            found.append((heading, answers["Codex"].strip(), answers["Claude"].strip()))
    return found


def test_continue_adds_rounds_on_the_same_thread_and_session(brainstorm):
    numbered_answers(brainstorm.codex, "codex")
    numbered_answers(brainstorm.claude, "claude")
    first = brainstorm("--rounds", "1", TOPIC).envelope
    done = brainstorm("--continue", first["transcript"], "--rounds", "2")
    assert done.returncode == 0, done.stderr
    envelope = done.envelope
    assert [r["round"] for r in envelope["rounds"]] == [1, 2, 3]
    assert envelope["rounds"][0] == first["rounds"][0] and envelope["topic"] == TOPIC
    assert envelope["codex_thread_id"] == first["codex_thread_id"]
    assert envelope["claude_session_id"] == first["claude_session_id"]
    assert envelope["transcript"] == first["transcript"]
    # Round 2 answers the other's conclusions of the first run, in the same conversation.
    codex_round_2 = responses_api.last_user_text(brainstorm.codex.requests[2])
    assert "claude answer 2" in codex_round_2   # claude's conclusions were its answer 2
    assert "codex answer 1" in json.dumps(brainstorm.codex.requests[2]["input"])
    claude_bodies = turn_requests(brainstorm.claude, anthropic_api.last_user_text)
    history = anthropic_api.all_user_texts(claude_bodies[-1])
    assert any(TOPIC in said and "codex answer" not in said for said in history)   # the first run's round 1
    assert envelope["conclusions"]["after_round"] == 3
    # Both sets of conclusions stay, each after its round.
    assert [c["after_round"] for c in envelope["earlier_conclusions"]] == [1]
    assert [heading for heading, _, _ in read_sections(Path(envelope["transcript"]).read_text())] == [
        "Round 1", "Conclusions after round 1", "Round 2", "Round 3", "Conclusions after round 3"]


def test_one_peer_failing_keeps_the_others_text(brainstorm):
    brainstorm.codex.add(text("codex's blind answer"))
    # Every request refused: newer claude releases retry a refused request once more on their own.
    brainstorm.claude.default = lambda body: error(400, "claude's model refused")
    done = brainstorm(TOPIC)
    assert done.returncode == 1
    envelope = done.envelope
    assert envelope["status"] == "failed" and len(envelope["rounds"]) == 1 and envelope["conclusions"] is None
    assert envelope["rounds"][0]["codex"]["text"] == "codex's blind answer"
    assert envelope["rounds"][0]["claude"]["exit_code"] == 1
    assert envelope["error"].startswith("claude: ") and "claude's model refused" in envelope["error"]
    assert "codex's blind answer" in Path(envelope["transcript"]).read_text()
    assert done.stderr.strip().splitlines()[-1] == f"brainstorm: error: {envelope['error']}"


def test_codex_unreachable_is_exit_3_and_keeps_claudes_answer(brainstorm, unused_port):
    brainstorm.claude.add(text("claude's blind answer"))
    done = brainstorm("--uri", f"ws://127.0.0.1:{unused_port}", TOPIC)
    assert done.returncode == 3, done.stderr
    assert done.envelope["status"] == "connection_failed"
    assert done.envelope["rounds"][0]["claude"]["text"] == "claude's blind answer"
    assert done.envelope["error"].startswith("codex: ")
