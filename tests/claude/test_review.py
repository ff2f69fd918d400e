"""Reviews with the real claude CLI: the diff the client reads with git, the review prompt and
schema claude is started with, and the `review` the envelope gets from claude's answer."""
import json
import sys

import pytest

from fixtures.fakes.anthropic_api import last_user_text
from fixtures.fakes.sse_server import text, tool
from tests.claude.conftest import started_argv
from tests.helpers import SKILLS, assert_one_error_line, git, repository_with_changes, review_output

sys.path.insert(0, str(SKILLS / "claude-cli-client" / "scripts"))
from claude_client import Session  # noqa: E402


@pytest.fixture
def repo(workdir):
    return repository_with_changes(workdir / "repo")


def answer_with(fake, output):
    fake.add(tool("StructuredOutput", output))   # a request after it, if claude makes one, gets the fake's echo


def review_requests(fake):
    """What claude sent for each review (not its reminders to answer in the schema)."""
    return [last_user_text(request) for request in fake.requests if "You are reviewing" in last_user_text(request)]


def test_review_sends_every_kind_of_uncommitted_change_and_maps_the_answer(claude, repo):
    answer_with(claude.fake, review_output(repo))
    result = claude("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    asked, = review_requests(claude.fake)
    assert "Review the current code changes (staged, unstaged, and untracked files)" in asked
    assert "confidence_score" in asked and str(repo) in asked
    for marker in ("+STAGED_MARKER = 1", "+    return a - b  # UNSTAGED_MARKER", "+UNTRACKED_MARKER = 3"):
        assert marker in asked
    argv = started_argv(result)
    assert "findings" in json.loads(argv[argv.index("--json-schema") + 1])["properties"]
    assert all("MARKER" not in arg for arg in argv)   # the diff went on stdin, not the command line
    review = result.envelope["review"]
    assert review["target"] == {"type": "uncommittedChanges"} and review["style"] == "default"
    assert review["findings"] == [
        {"title": "[P1] add subtracts", "body": "add returns a - b.\nEvery caller gets the wrong sum.", "priority": 1,
         "confidence": 0.9, "file": str(repo / "calc.py"), "lines": {"start": 2, "end": 2}},
        {"title": "[P3] Unused constant", "body": "UNTRACKED_MARKER is never read.", "priority": 3,
         "confidence": 0.4, "file": str(repo / "untracked.py"), "lines": {"start": 1, "end": 1}}]
    assert review["overall"] == {"correctness": "patch is incorrect", "explanation": "add is broken.",
                                 "confidence": 0.8}


def test_a_detached_review_is_a_job_whose_result_has_the_review(claude, repo):
    answer_with(claude.fake, review_output(repo))
    started = claude("--json", "--detach", "--review", "--cwd", str(repo))
    assert started.returncode == 0 and started.envelope["status"] == "inProgress", started.stderr
    done = claude("--json", "--result", started.envelope["job_id"], "--timeout", "60", trace=False)
    assert done.returncode == 0, done.stderr
    assert done.envelope["review"]["findings"][0]["title"] == "[P1] add subtracts"
    assert "+STAGED_MARKER = 1" in review_requests(claude.fake)[0]


def test_a_review_from_a_subdirectory_covers_the_whole_repository(claude, repo):
    (repo / "sub").mkdir()
    result = claude("--json", "--review", "--cwd", str(repo / "sub"))
    assert result.returncode == 0, result.stderr
    asked, = review_requests(claude.fake)
    assert f"in the repository at {repo}." in asked   # diffs name files from there: the model can make them absolute
    assert "+UNTRACKED_MARKER = 3" in asked and "+STAGED_MARKER = 1" in asked


def test_a_plain_answer_is_the_reviews_text(claude, repo):
    claude.fake.add(*[text("Nothing stands out.")] * 3)   # claude may ask once more for the structured answer
    result = claude("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert result.envelope["review"]["findings"] == [] and result.envelope["review"]["text"] == "Nothing stands out."


def test_text_mode_prints_the_findings(claude, repo):
    answer_with(claude.fake, review_output(repo))
    result = claude("--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("patch is incorrect: add is broken.\n\n[P1] add subtracts\n")
    assert f"  {repo / 'untracked.py'}:1-1\n  UNTRACKED_MARKER is never read.\n" in result.stdout


def test_base_branch_and_commit_targets_send_their_diffs(claude, repo):
    git(repo, "stash", "-u", "-q")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "feature.py").write_text("FEATURE_MARKER = True\n")
    git(repo, "add", "feature.py")
    git(repo, "commit", "-q", "-m", "Add the feature flag")
    sha = git(repo, "rev-parse", "HEAD").strip()
    (repo / "calc.py").write_text("WORK_IN_PROGRESS = 1\n")
    base = claude("--json", "--review-base", "main", "--cwd", str(repo))
    commit = claude("--json", "--review-commit", sha, "--cwd", str(repo))
    assert base.returncode == commit.returncode == 0, base.stderr + commit.stderr
    on_base, on_commit = review_requests(claude.fake)
    assert "against the base branch 'main'" in on_base
    assert "+FEATURE_MARKER = True" in on_base and "+WORK_IN_PROGRESS = 1" in on_base
    assert "+FEATURE_MARKER = True" in on_commit and "Add the feature flag" in on_commit
    assert "WORK_IN_PROGRESS" not in on_commit
    assert base.envelope["review"]["target"] == {"type": "baseBranch", "branch": "main"}
    assert commit.envelope["review"]["target"] == {"type": "commit", "sha": sha}


def test_adversarial_style_reaches_claude(claude, repo):
    result = claude("--json", "--review", "--review-style", "adversarial", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    asked, = review_requests(claude.fake)
    assert "Review adversarially" in asked and "challenge its design" in asked and "+UNTRACKED_MARKER" in asked
    assert result.envelope["review"]["style"] == "adversarial"


def test_instructions_alone_are_a_custom_review_without_a_diff(claude, workdir):
    result = claude("--json", "--review-instructions", "Check calc.py for overflow.")   # workdir: no repository
    assert result.returncode == 0, result.stderr
    asked, = review_requests(claude.fake)
    assert asked.endswith("Check calc.py for overflow.") and "<diff>" not in asked
    assert result.envelope["review"]["target"] == {"type": "custom", "instructions": "Check calc.py for overflow."}


def test_a_file_too_big_for_the_diff_is_left_out_by_name_and_the_others_are_reviewed(claude, repo):
    (repo / "big.txt").write_text("line of a big file\n" * 20000)   # 380,000 characters
    result = claude("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    assert result.envelope["review"]["note"] == ("1 changed file(s) did not fit in the 200000-character diff and "
                                                 "were not reviewed: big.txt")
    asked = review_requests(claude.fake)[0]
    assert "line of a big file" not in asked
    for marker in ("+STAGED_MARKER = 1", "# UNSTAGED_MARKER", "+UNTRACKED_MARKER = 3"):
        assert marker in asked


def test_a_single_change_bigger_than_the_limit_is_cut_with_a_note(claude, repo):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the small changes")
    (repo / "big.txt").write_text("line of a big file\n" * 20000)
    result = claude("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    note = result.envelope["review"]["note"]
    assert note.startswith("the diff was cut to its first 200000 of ") and "characters" in note
    assert len(review_requests(claude.fake)[0]) < 203000


@pytest.mark.parametrize("args, message", [
    (["--review", "hello"], "takes no prompt"),
    (["--review-base", "main", "--review-commit", "HEAD"], "one review target at a time"),
    (["--review", "--json-schema", "{}"], "its own JSON schema"),
    (["--review-style", "gentle", "--review"], "invalid choice"),
    (["--review-base", "no-such-branch"], "no branch 'no-such-branch'"),
    (["--review-commit", "0123abcd"], "no commit '0123abcd'"),
])
def test_bad_review_requests_are_exit_2_before_claude_starts(claude, repo, args, message):
    result = claude("--json", "--cwd", str(repo), *args)
    assert result.returncode == 2 and message in result.envelope["error"], result.envelope
    assert_one_error_line(result, "claude-cli-client")
    assert not any(r.get("event") == "start" for r in result.trace)


def test_not_a_repository_and_nothing_to_review_are_exit_2(claude, workdir, repo):
    outside = claude("--json", "--review")   # in workdir, which is no repository
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "everything")
    clean = claude("--json", "--review", "--cwd", str(repo))
    assert outside.returncode == clean.returncode == 2
    assert f"{workdir} is not in a git repository" in outside.envelope["error"]
    assert "nothing to review" in clean.envelope["error"]
    assert not any(r.get("event") == "start" for r in outside.trace + clean.trace)


def test_library_review_after_a_turn_restarts_claude_with_the_schema_and_keeps_the_conversation(claude, repo,
                                                                                              monkeypatch):
    for name, value in claude.env.items():
        monkeypatch.setenv(name, value)
    claude.fake.add(text("first answer"))
    answer_with(claude.fake, review_output(repo))
    with Session(cwd=str(repo)) as session:
        assert session.ask("hello")["text"] == "first answer"
        reviewed = session.review(uncommitted=True).result().to_dict()
        after = session.ask("and now?")
    assert reviewed["review"]["findings"][0]["confidence"] == 0.9
    assert reviewed["session_id"] == after["session_id"]
    assert after["text"] == "echo: and now?" and "review" not in after and "output" not in after
    assert "hello" in json.dumps(claude.fake.requests[1]["messages"])   # the review resumed the conversation


def test_a_relative_commit_is_reviewed_by_its_full_sha_also_when_detached(claude, repo):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the changes")
    parent = git(repo, "rev-parse", "HEAD~1").strip()
    result = claude("--json", "--review-commit", "HEAD~1", "--cwd", str(repo))
    started = claude("--json", "--detach", "--review-commit", "HEAD~1", "--cwd", str(repo))
    assert result.returncode == started.returncode == 0, result.stderr + started.stderr
    assert started.envelope["review"] == {"target": {"type": "commit", "sha": parent}, "style": "default"}
    done = claude("--json", "--result", started.envelope["job_id"], "--timeout", "60", trace=False)
    assert result.envelope["review"]["target"] == done.envelope["review"]["target"] == {"type": "commit",
                                                                                        "sha": parent}
    for asked in review_requests(claude.fake):
        assert f"introduced by commit {parent} (what `git show {parent}` shows)" in asked


def test_an_error_names_only_an_option_the_call_gave(claude, workdir, repo):
    here = claude("--json", "--review")   # in workdir, which is no repository
    given = claude("--json", "--review", "--cwd", str(workdir))
    both = claude("--json", "--review", "--review-commit", "HEAD", "--cwd", str(repo))
    assert here.returncode == given.returncode == both.returncode == 2
    assert here.envelope["error"] == f"{workdir} is not in a git repository"   # no (--cwd): the call gave none
    assert given.envelope["error"] == f"{workdir} is not in a git repository (--cwd)"
    assert both.envelope["error"] == "one review target at a time, not uncommitted and commit"


def test_non_ascii_names_and_files_left_out_reach_the_reviewer_as_they_are(claude, repo):
    (repo / "café.py").write_text("CAFE_MARKER = 1\n")
    (repo / "größe.txt").write_text("line of a big file\n" * 20000)   # too big for the diff
    result = claude("--json", "--review", "--cwd", str(repo))
    assert result.returncode == 0, result.stderr
    asked = review_requests(claude.fake)[0]
    assert "diff --git a/café.py b/café.py" in asked and "\\303" not in asked   # not git's octal quoting
    note = result.envelope["review"]["note"]
    assert note.endswith("were not reviewed: größe.txt")
    after_the_diff = asked.split("</diff>", 1)[1]
    assert note in after_the_diff   # the reviewer knows its diff is incomplete
