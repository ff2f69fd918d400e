"""Sessions (resume, persistence) and the REPL on one long-lived claude process."""
import re

from tests.claude.conftest import started_argv
from fixtures.fakes.anthropic_api import all_user_texts, last_user_text


def test_resume_sends_the_earlier_turn_to_the_model(claude):
    first = claude("--json", "remember the word pineapple")
    session_id = first.envelope["session_id"]
    second = claude("--json", "--session-id", session_id, "what was the word?")
    assert second.returncode == 0, second.stderr
    assert second.envelope["session_id"] == session_id
    history = all_user_texts(claude.fake.requests[-1])
    assert "remember the word pineapple" in history
    assert last_user_text(claude.fake.requests[-1]) == "what was the word?"
    assert started_argv(second)[-2:] == ["--resume", session_id]


def test_print_session_id(claude):
    result = claude("--json", "--print-session-id", "hi")
    match = re.search(r"^SESSION_ID=(\S+)$", result.stderr, re.M)
    assert match and match.group(1) == result.envelope["session_id"]


def test_no_session_persistence(claude):
    result = claude("--json", "--no-session-persistence", "forget me")
    assert result.returncode == 0 and "--no-session-persistence" in started_argv(result)
    again = claude("--json", "--session-id", result.envelope["session_id"], "still there?")
    assert again.returncode == 1 and again.envelope["status"] == "failed"
    conflict = claude("--json", "--no-session-persistence", "--session-id", "abc", "x", trace=False)
    assert conflict.returncode == 2 and conflict.envelope["status"] == "bad_arguments"


def test_repl_turns_share_one_process(claude):
    result = claude("--repl", "--json", stdin="first\nsecond\n/session\n/new\nthird\n/exit\nignored\n")
    assert result.returncode == 0, result.stderr
    first, second, shown, new, third = result.envelopes
    assert [first["text"], second["text"], third["text"]] == ["echo: first", "echo: second", "echo: third"]
    assert first["session_id"] == second["session_id"] == shown["session_id"]
    assert third["session_id"] != first["session_id"]
    starts = [r for r in result.trace if r.get("event") == "start"]
    assert len(starts) == 2, "one claude process for the first session, one after /new"
    assert len(claude.fake.requests) == 3


def test_repl_quit_and_end_of_input(claude):
    assert claude("--repl", "--no-stream", stdin="one\n/quit\ntwo\n").stdout == "echo: one\n"
    result = claude("--repl", "--no-stream", stdin="one\ntwo")
    assert result.stdout == "echo: one\necho: two\n" and result.returncode == 0
