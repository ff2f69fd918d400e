"""The changes a review is about, read with git in the directory under review: checked before
any peer is asked (not a repository, an unknown branch or commit, nothing to review), and, for
a peer that cannot read them itself, written out as one diff.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.
"""
import os
import subprocess

from .outcome import BadArguments
from .review import BASE_BRANCH, COMMIT, CUSTOM, UNCOMMITTED

GIT_TIMEOUT_SECONDS = 60
MAX_DIFF_CHARACTERS = 200_000     # about 50,000 tokens: room for the review in any model's context


def check_changes(cwd, request):
    """Raises BadArguments unless `cwd` is a git repository with something for `request` to review.
    Returns the base branch's merge base (None for other targets)."""
    if request.kind == CUSTOM:
        return None
    _git(cwd, "rev-parse", "--git-dir", problem=f"{cwd} is not a git repository", setting="cwd")
    if request.kind == UNCOMMITTED:
        if not _git(cwd, "status", "--porcelain", "--untracked-files=all").strip():
            raise BadArguments(f"nothing to review: no uncommitted changes in {cwd}", setting="review")
        return None
    if request.kind == COMMIT:
        _git(cwd, "rev-parse", "--verify", "--quiet", f"{request.commit}^{{commit}}",
             problem=f"no commit {request.commit!r} in {cwd}", setting="review_commit")
        return None
    _git(cwd, "rev-parse", "--verify", "--quiet", f"{request.base}^{{commit}}",
         problem=f"no branch {request.base!r} in {cwd}", setting="review_base")
    merge_base = _git(cwd, "merge-base", "HEAD", request.base,
                      problem=f"HEAD and {request.base!r} have no common ancestor", setting="review_base").strip()
    if not _git(cwd, "diff", merge_base).strip():
        raise BadArguments(f"nothing to review: no changes against {request.base!r}", setting="review_base")
    return merge_base


def changes_diff(cwd, request, limit=MAX_DIFF_CHARACTERS):
    """(the changes as diff text, a note when they were cut to `limit` characters, else None)."""
    merge_base = check_changes(cwd, request)
    if request.kind == CUSTOM:
        return "", None
    if request.kind == COMMIT:
        diff = _git(cwd, "show", "--format=commit %H%nAuthor: %an%n%n%B", request.commit)
    else:
        # As codex reviews them. Uncommitted: staged and unstaged changes against HEAD (before the
        # first commit: the index, then the work tree) and the untracked files. A base branch:
        # everything since the merge base, uncommitted changes to tracked files included.
        since = merge_base or ("HEAD" if _has_commits(cwd) else None)
        parts = [_git(cwd, "diff", since)] if since else [_git(cwd, "diff", "--cached"), _git(cwd, "diff")]
        if request.kind == UNCOMMITTED:
            parts += [_new_file_diff(cwd, path) for path in _untracked(cwd)]
        diff = "".join(parts)
    if len(diff) <= limit:
        return diff, None
    return diff[:limit], (f"the diff was cut to its first {limit} of {len(diff)} characters; "
                          "narrow the review (e.g. a commit) to see the rest reviewed")


def _untracked(cwd):
    return [path for path in _git(cwd, "ls-files", "--others", "--exclude-standard", "-z").split("\0") if path]


def _has_commits(cwd):
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=cwd, capture_output=True,
                          timeout=GIT_TIMEOUT_SECONDS).returncode == 0


def _new_file_diff(cwd, path):
    """An untracked file as a diff that adds it (git says "Binary files ... differ" for a binary one)."""
    return _git(cwd, "diff", "--no-index", "--", os.devnull, path, ok_codes=(0, 1))


def _git(cwd, *args, problem=None, setting=None, ok_codes=(0,)):
    try:
        # Plain output whatever colours the user's git configuration asks for.
        done = subprocess.run(["git", "-c", "color.ui=never", *args], cwd=cwd, capture_output=True,
                              timeout=GIT_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise BadArguments("git is not installed: a review of changes needs it", setting=setting) from None
    except subprocess.TimeoutExpired:
        raise BadArguments(f"git {args[0]} took more than {GIT_TIMEOUT_SECONDS}s in {cwd}", setting=setting) from None
    if done.returncode not in ok_codes:
        detail = done.stderr.decode("utf-8", "replace").strip().split("\n")[-1]
        raise BadArguments(problem or f"git {args[0]} failed in {cwd}: {detail}", setting=setting)
    return done.stdout.decode("utf-8", "replace")
