"""Reviews through the real app-server's review/start: what reaches the model, and the `review`
the envelope gets from what codex sends back."""
import json

import pytest

from fixtures.fakes.responses_api import last_user_text
from fixtures.fakes.sse_server import text
from tests.helpers import assert_one_error_line, git, repository_with_changes, review_output

REVIEW_OF_UNCOMMITTED = ("Review the current code changes (staged, unstaged, and untracked files) and provide "
                         "prioritized findings.")


@pytest.fixture
def repo(tmp_path):
    return repository_with_changes(tmp_path / "repo")


def sent_review_target(result):
    return next(r["msg"]["params"]["target"] for r in result.trace
                if r["dir"] == "out" and r.get("msg", {}).get("method") == "review/start")


def developer_text(body):
    return "".join(part.get("text", "") for item in body["input"] if item.get("role") == "developer"
                   for part in item.get("content") or [])


def test_review_of_uncommitted_changes_maps_codex_findings(codex, repo):
    codex.fake.add(text(json.dumps(review_output(repo))))
    result = codex("--json", "--review", "--cwd", str(repo), "--sandbox", "read-only", "--model", "mock-model")
    assert result.returncode == 0, result.stderr
    assert sent_review_target(result) == {"type": "uncommittedChanges"}
    request = codex.fake.requests[0]
    assert last_user_text(request) == REVIEW_OF_UNCOMMITTED
    assert "Review guidelines" in developer_text(request)   # codex's own review prompt reached the model
    review = result.envelope["review"]
    assert review["target"] == {"type": "uncommittedChanges"} and review["style"] == "default"
    assert review["findings"] == [
        {"title": "[P1] add subtracts", "body": "add returns a - b.\nEvery caller gets the wrong sum.", "priority": 1,
         "confidence": None, "file": str(repo / "calc.py"), "lines": {"start": 2, "end": 2}},
        {"title": "[P3] Unused constant", "body": "UNTRACKED_MARKER is never read.", "priority": 3,
         "confidence": None, "file": str(repo / "untracked.py"), "lines": {"start": 1, "end": 1}}]
    # The app-server passes on the explanation of the verdict, not the verdict or the confidences.
    assert review["overall"] == {"correctness": None, "explanation": "add is broken.", "confidence": None}
    started = next(r["msg"]["params"] for r in result.trace if r.get("msg", {}).get("method") == "thread/start")
    assert started["cwd"] == str(repo) and started["sandbox"] == "read-only" and started["model"] == "mock-model"


def test_a_reviewed_thread_can_be_continued(codex, repo):
    review = codex("--json", "--review", "--cwd", str(repo))
    # codex lists the review's inner turn as still running when the thread is resumed.
    follow_up = codex("--json", "--thread-id", review.envelope["thread_id"], "Now propose a fix")
    assert follow_up.returncode == 0, follow_up.envelope
    assert follow_up.envelope["text"] == "echo: Now propose a fix"


def test_a_plain_answer_is_the_reviews_text(codex, repo):
    codex.fake.add(text("Nothing stands out; the change looks fine."))
    result = codex("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert result.envelope["review"]["findings"] == []
    assert result.envelope["review"]["text"] == "Nothing stands out; the change looks fine."


def test_text_mode_prints_the_findings(codex, repo):
    codex.fake.add(text(json.dumps(review_output(repo))))
    result = codex("--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("add is broken.\n\n[P1] add subtracts\n")
    assert f"  {repo / 'calc.py'}:2-2\n  add returns a - b.\n  Every caller gets the wrong sum.\n" in result.stdout
    assert "Full review comments" not in result.stdout   # shown once, as findings, not also as codex's text


def test_base_branch_and_commit_targets(codex, repo):
    git(repo, "stash", "-u", "-q")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.py").write_text("FEATURE = True\n")
    git(repo, "add", "feature.py")
    git(repo, "commit", "-q", "-m", "Add feature")
    sha = git(repo, "rev-parse", "HEAD").strip()
    base = codex("--json", "--review-base", "main", "--cwd", str(repo))
    commit = codex("--json", "--review-commit", sha, "--cwd", str(repo))
    assert base.returncode == commit.returncode == 0, base.stderr + commit.stderr
    assert sent_review_target(base) == {"type": "baseBranch", "branch": "main"}
    assert sent_review_target(commit) == {"type": "commit", "sha": sha}
    assert "against the base branch 'main'" in last_user_text(codex.fake.requests[0])
    assert sha in last_user_text(codex.fake.requests[1])
    assert base.envelope["review"]["target"] == {"type": "baseBranch", "branch": "main"}
    assert commit.envelope["review"]["target"] == {"type": "commit", "sha": sha}


def test_adversarial_style_and_instructions_reach_the_model(codex, repo):
    result = codex("--json", "--review", "--review-style", "adversarial", "--review-instructions", "Mind the sums.",
                   "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    asked = last_user_text(codex.fake.requests[0])
    assert asked.startswith("Review the current code changes (staged, unstaged, and untracked files).")
    assert "Review adversarially" in asked and "challenge its design" in asked and "Mind the sums." in asked
    assert sent_review_target(result)["type"] == "custom"   # codex's own targets take no instructions
    review = result.envelope["review"]
    assert review["style"] == "adversarial"
    assert review["target"] == {"type": "uncommittedChanges", "instructions": "Mind the sums."}


def test_instructions_alone_are_a_custom_review(codex, repo):
    result = codex("--json", "--review-instructions", "Check calc.py for overflow.", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert sent_review_target(result) == {"type": "custom", "instructions": "Check calc.py for overflow."}
    assert last_user_text(codex.fake.requests[0]) == "Check calc.py for overflow."


@pytest.mark.parametrize("args, message", [
    (["--review", "hello"], "takes no prompt"),
    (["--review", "--review-commit", "HEAD"], "one review target at a time"),
    (["--review-style", "adversarial", "hello"], "--review-style goes with"),
    (["--review", "--repl"], "one turn of its own"),
    (["--review", "--effort", "high"], "takes no --image, --output-schema or --effort"),
    (["--review-instructions", " "], "--review-instructions is empty"),
    (["--review-base", "no-such-branch"], "no branch 'no-such-branch'"),
    (["--review-commit", "0123abcd"], "no commit '0123abcd'"),
    (["--review-base", "--", "x"], "expected one argument"),
])
def test_bad_review_requests_are_exit_2(codex, repo, args, message):
    result = codex("--json", "--cwd", str(repo), *args)
    assert result.returncode == 2 and message in result.envelope["error"], result.envelope
    assert_one_error_line(result, "codex-ws-client")
    assert not codex.fake.requests


def test_not_a_repository_and_nothing_to_review_are_exit_2(codex, tmp_path, repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = codex("--json", "--review", "--cwd", str(plain))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "everything")
    clean = codex("--json", "--review", "--cwd", str(repo))
    assert outside.returncode == clean.returncode == 2
    assert "is not in a git repository" in outside.envelope["error"]
    assert clean.envelope["error"].startswith("nothing to review: no uncommitted changes in")
    assert_one_error_line(clean, "codex-ws-client")
    assert json.loads(codex("--threads").stdout) == []   # decided before connecting: no thread was started


def test_a_review_can_be_detached_and_collected(codex, repo):
    codex.fake.add(text(json.dumps(review_output(repo))))
    started = codex("--json", "--detach", "--review", "--cwd", str(repo))
    assert started.returncode == 0 and started.envelope["status"] == "inProgress", started.stderr
    done = codex("--json", "--result", "--thread-id", started.envelope["thread_id"])
    assert done.returncode == 0, done.envelope
    assert done.envelope["turn_id"] == started.envelope["turn_id"]
    assert "Full review comments:" in done.envelope["text"]   # the background review ran to its end
    by_job = codex("--json", "--result", started.envelope["job_id"])
    assert by_job.returncode == 0 and by_job.envelope["review"]["findings"][0]["title"] == "[P1] add subtracts"


def test_a_detached_review_names_its_target_at_once(codex, repo):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the changes")
    parent = git(repo, "rev-parse", "HEAD~1").strip()
    codex.fake.add(text(json.dumps(review_output(repo))))
    started = codex("--json", "--detach", "--review-commit", "HEAD~1", "--cwd", str(repo))
    assert started.returncode == 0 and started.envelope["status"] == "inProgress", started.stderr
    assert started.envelope["review"] == {"target": {"type": "commit", "sha": parent}, "style": "default"}
    done = codex("--json", "--result", started.envelope["job_id"], "--timeout", "60")
    assert done.returncode == 0 and done.envelope["review"]["target"] == started.envelope["review"]["target"]


def test_a_review_reports_the_usage_codex_gives_for_it_and_no_false_zero(codex, repo):
    codex.fake.add(text(json.dumps(review_output(repo))))
    result = codex("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert len(codex.fake.requests) == 1   # the model was asked, so the review did use tokens
    reported = [r["msg"]["params"]["tokenUsage"]["last"] for r in result.trace
                if r["dir"] == "in" and r["msg"].get("method") == "thread/tokenUsage/updated"]
    metrics = result.envelope["metrics"]
    if reported:
        assert metrics["input_tokens"] == sum(usage["inputTokens"] for usage in reported) > 0
    else:   # codex 0.169.0 and 0.171.0 report no usage for a review: unknown, not 0
        assert metrics["input_tokens"] is None and metrics["output_tokens"] is None


def test_a_relative_commit_is_reviewed_by_its_full_sha(codex, repo):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the changes")
    parent = git(repo, "rev-parse", "HEAD~1").strip()
    result = codex("--json", "--review-commit", "HEAD~1", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert sent_review_target(result) == {"type": "commit", "sha": parent}
    assert result.envelope["review"]["target"] == {"type": "commit", "sha": parent}
    # The thread's history names that commit, so a later turn (or commit) does not change what was reviewed.
    git(repo, "commit", "-q", "--allow-empty", "-m", "moves HEAD")
    follow_up = codex("--json", "--thread-id", result.envelope["thread_id"], "Which commit?")
    assert follow_up.returncode == 0 and parent in json.dumps(codex.fake.requests[-1]["input"])


def test_an_error_names_only_an_option_the_call_gave(codex, tmp_path, repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    here = codex("--json", "--review", cwd=plain)
    given = codex("--json", "--review", "--cwd", str(plain))
    both = codex("--json", "--review-base", "main", "--review-commit", "HEAD", "--cwd", str(repo))
    assert here.returncode == given.returncode == both.returncode == 2
    assert here.envelope["error"] == f"{plain} is not in a git repository"   # no (--cwd): the call gave none
    assert given.envelope["error"] == f"{plain} is not in a git repository (--cwd)"
    assert both.envelope["error"] == "one review target at a time, not base and commit"   # no (--review)
