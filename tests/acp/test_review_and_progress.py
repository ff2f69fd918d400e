"""Reviews through the real gemini (the diff in the prompt, the review-output JSON read back), and
progress lines while a turn runs."""
import json
import re

import pytest

from fixtures.fakes.gemini_api import last_user_text
from fixtures.fakes.sse_server import text, tool
from tests.helpers import assert_one_error_line, repository_with_changes, review_output

PROGRESS_LINE = re.compile(r"^\[acp-client\] (\d+)s (.+)$")


@pytest.fixture
def repo(workdir):
    return repository_with_changes(workdir / "repo")


def test_review_sends_the_diff_and_reads_the_findings(acp, repo):
    acp.fake.add(text("```json\n" + json.dumps(review_output(repo)) + "\n```"))
    result = acp("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    asked = last_user_text(acp.fake.requests[-1])
    assert "Review the current code changes (staged, unstaged, and untracked files)" in asked
    for marker in ("+STAGED_MARKER = 1", "+    return a - b  # UNSTAGED_MARKER", "+UNTRACKED_MARKER = 3"):
        assert marker in asked
    review = result.envelope["review"]
    assert review["target"] == {"type": "uncommittedChanges"}
    assert [finding["priority"] for finding in review["findings"]] == [1, 3]
    assert review["findings"][0]["file"] == str(repo / "calc.py") and review["overall"]["correctness"] == \
        "patch is incorrect"


def test_an_answer_that_is_not_review_json_is_kept_as_text(acp, repo):
    acp.fake.add(text("Looks fine to me."))
    review = acp("--json", "--review", "--cwd", str(repo)).envelope["review"]
    assert review["findings"] == [] and review["text"] == "Looks fine to me."


def test_nothing_to_review_is_exit_2_before_gemini_starts(acp, workdir):
    result = acp("--review", "--cwd", str(workdir))
    assert result.returncode == 2
    assert_one_error_line(result, "acp-client")
    assert not any(r.get("event") == "start" for r in result.trace)


def test_progress_names_the_command_gemini_runs(acp):
    acp.fake.add(tool("run_shell_command", {"command": "sleep 2; echo done"}), text("ran it"))
    result = acp("--progress", "--approve", "commands", "run it")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ran it\n"
    activities = [match.group(2) for match in map(PROGRESS_LINE.match, result.stderr.splitlines()) if match]
    assert "tool execute: sleep 2; echo done" in activities, result.stderr
