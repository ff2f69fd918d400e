"""Threads: persisted by default, resumed with --thread-id, ephemeral on request."""
import re

from fixtures.fakes.responses_api import last_user_text
from fixtures.fakes.sse_server import text


def _all_user_texts(body):
    texts = []
    for item in body.get("input") or []:
        if item.get("role") == "user":
            texts += [c.get("text", "") for c in item.get("content") or []]
    return texts


def test_thread_id_resumes_the_thread_with_its_history(codex):
    first = codex("--json", "remember the word pineapple")
    thread_id = first.envelope["thread_id"]
    second = codex("--json", "--thread-id", thread_id, "what was the word?")
    assert second.returncode == 0, second.stderr
    assert second.envelope["thread_id"] == thread_id
    assert second.envelope["turn_id"] != first.envelope["turn_id"]
    last_request = codex.fake.requests[-1]
    assert last_user_text(last_request) == "what was the word?"
    assert "remember the word pineapple" in _all_user_texts(last_request)
    methods = [r["msg"].get("method") for r in second.trace if r["dir"] == "out"]
    assert methods == ["initialize", "initialized", "thread/resume", "turn/start"]


def test_unknown_thread_fails_fast_with_the_servers_message(codex):
    result = codex("--json", "--thread-id", "01a20f65-ccc6-7f50-b74d-8da8b3ef5061", "hello")
    assert result.returncode == 1
    assert result.envelope["status"] == "failed"
    assert "no rollout found" in result.envelope["error"]
    assert result.stderr.count("\n") == 1 and "no rollout found" in result.stderr
    assert codex.fake.requests == []


def test_ephemeral_thread_cannot_be_resumed_later(codex):
    first = codex("--json", "--ephemeral", "short-lived")
    assert first.returncode == 0
    start = next(r["msg"] for r in first.trace if r.get("msg", {}).get("method") == "thread/start")
    assert start["params"]["ephemeral"] is True
    again = codex("--json", "--thread-id", first.envelope["thread_id"], "still there?")
    assert again.returncode == 1 and again.envelope["error"]


def test_ephemeral_with_thread_id_is_a_bad_argument(codex):
    result = codex("--json", "--ephemeral", "--thread-id", "abc", "hi", trace=False)
    assert result.returncode == 2
    assert result.envelope["status"] == "bad_arguments"
    assert "--ephemeral" in result.envelope["error"]


def test_print_thread_id_goes_to_stderr(codex):
    result = codex("--json", "--print-thread-id", "hi")
    match = re.search(r"^THREAD_ID=(\S+)$", result.stderr, re.M)
    assert match and match.group(1) == result.envelope["thread_id"]
    assert "THREAD_ID" not in result.stdout


def test_resume_timeout_applies_to_resumed_threads(codex):
    thread_id = codex("--json", "start").envelope["thread_id"]
    codex.fake.add(text("slow answer", delay=2.5))
    resumed = codex("--json", "--thread-id", thread_id, "--timeout", "1", "--resume-timeout", "30", "again")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.envelope["text"] == "slow answer"
    codex.fake.add(text("slow answer", delay=2.5))
    fresh = codex("--json", "--timeout", "1", "--resume-timeout", "30", "new thread")
    assert fresh.returncode == 4
    assert fresh.envelope["status"] == "timeout"


def test_resumed_turn_counts_only_its_own_tokens(codex):
    """On resume the server replays the previous turn's token usage; it is not this turn's."""
    first = codex("--json", "one")
    resumed = codex("--json", "--thread-id", first.envelope["thread_id"], "one")
    replayed = [r["msg"]["params"]["turnId"] for r in resumed.trace
                if r["dir"] == "in" and r["msg"].get("method") == "thread/tokenUsage/updated"]
    assert first.envelope["turn_id"] in replayed   # the situation this test is about
    assert resumed.envelope["metrics"]["input_tokens"] == first.envelope["metrics"]["input_tokens"] == 11
    assert resumed.envelope["metrics"]["output_tokens"] == first.envelope["metrics"]["output_tokens"]
