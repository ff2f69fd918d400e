"""The changes a review is about, read with git in the repository under review: checked before
any peer is asked (not a repository, an unknown branch or commit, nothing to review), and, for
a peer that cannot read them itself, written out as one diff.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.
"""
from __future__ import annotations

import os
import re
import subprocess
from typing import List, Optional, Sequence, Tuple

from .outcome import BadArguments
from .review import BASE_BRANCH, COMMIT, CUSTOM, UNCOMMITTED, ReviewRequest

GIT_TIMEOUT_SECONDS = 60
MAX_DIFF_CHARACTERS = 200_000     # about 50,000 tokens: room for the review in any model's context
MAX_NAMED_FILES = 20               # of the files a note says were left out


class Changes:
    """What `request` reviews in the git repository around `cwd`; BadArguments on creation unless
    there is something to review (a commit target is then resolved to its full SHA in `request`).
    A custom review names its own subject: nothing is checked."""

    def __init__(self, cwd: str, request: ReviewRequest) -> None:
        self.request = request
        self.root = cwd          # the repository's top directory: git's diffs name files from there
        self.merge_base = ""     # of HEAD and the base branch, for a review against one
        if request.kind != CUSTOM:
            self.root = _git(cwd, "rev-parse", "--show-toplevel", problem=f"{cwd} is not in a git repository",
                             setting="cwd").strip()
            self._check()

    def _check(self) -> None:
        request = self.request
        if request.kind == UNCOMMITTED:
            if not self._git("status", "--porcelain", "--untracked-files=all").strip():
                raise BadArguments(f"nothing to review: no uncommitted changes in {self.root}", setting="uncommitted")
        elif request.kind == COMMIT:
            # The full SHA from now on: a later HEAD~1 (a detached job's, a continued thread's) may be another commit.
            request.commit = self._git("rev-parse", "--verify", "--quiet", f"{request.commit}^{{commit}}",
                                       problem=f"no commit {request.commit!r} in {self.root}",
                                       setting="commit").strip()
        elif request.kind == BASE_BRANCH:
            assert request.base is not None   # as a review against a branch has
            self._git("rev-parse", "--verify", "--quiet", f"{request.base}^{{commit}}",
                      problem=f"no branch {request.base!r} in {self.root}", setting="base")
            self.merge_base = self._git("merge-base", "HEAD", request.base, setting="base",
                                        problem=f"HEAD and {request.base!r} have no common ancestor").strip()
            if not self._git("diff", self.merge_base).strip():
                raise BadArguments(f"nothing to review: no changes against {request.base!r}", setting="base")

    def diff(self, limit: int = MAX_DIFF_CHARACTERS) -> Tuple[str, Optional[str]]:
        """(the changes as diff text, a note when files were left out to keep it within `limit`
        characters, else None). Whole files are kept, in git's order, as long as they fit, so a
        large generated or vendored file does not push the small real changes out."""
        kind = self.request.kind
        if kind == CUSTOM:
            return "", None
        if kind == COMMIT:
            assert self.request.commit is not None   # as a commit review has
            diff = self._git("show", "--format=commit %H%nAuthor: %an%n%n%B", self.request.commit)
        elif kind == BASE_BRANCH:
            diff = self._git("diff", self.merge_base)   # as codex reviews it: uncommitted changes included
        else:
            diff = self._uncommitted_diff()
        if len(diff) <= limit:
            return diff, None
        return _within(diff, limit)

    def _uncommitted_diff(self) -> str:
        """Staged and unstaged changes against HEAD (before the first commit: the index, then the
        work tree), then each untracked file as a diff that adds it."""
        has_commits = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=self.root,
                                     capture_output=True, timeout=GIT_TIMEOUT_SECONDS).returncode == 0
        parts = [self._git("diff", "HEAD")] if has_commits else [self._git("diff", "--cached"), self._git("diff")]
        untracked = self._git("ls-files", "--others", "--exclude-standard", "-z").split("\0")
        # git says "Binary files ... differ" for a binary file, so only its name is sent.
        parts += [self._git("diff", "--no-index", "--", os.devnull, path, ok_codes=(0, 1))
                  for path in untracked if path]
        return "".join(parts)

    def _git(self, *args: str, problem: Optional[str] = None, setting: Optional[str] = None,
             ok_codes: Sequence[int] = (0,)) -> str:
        return _git(self.root, *args, problem=problem, setting=setting, ok_codes=ok_codes)


def _within(diff: str, limit: int) -> Tuple[str, str]:
    """The files of `diff` that fit in `limit` characters, and a note naming those left out."""
    kept: List[str] = []
    left_out: List[str] = []
    size = 0
    for path, piece in _files_of(diff):
        if size + len(piece) <= limit:
            kept.append(piece)
            size += len(piece)
        else:
            left_out.append(path)
    if not kept:   # one file larger than the limit: its start is better than nothing
        return diff[:limit], (f"the diff was cut to its first {limit} of {len(diff)} characters; "
                              "narrow the review (e.g. a commit) to see the rest reviewed")
    names = ", ".join(left_out[:MAX_NAMED_FILES]) + (", ..." if len(left_out) > MAX_NAMED_FILES else "")
    return "".join(kept), (f"{len(left_out)} changed file(s) did not fit in the {limit}-character diff and were "
                           f"not reviewed: {names}")


def _files_of(diff: str) -> List[Tuple[str, str]]:
    """(path, text) of each file's part of a diff; what comes before the first file (a commit's
    message) goes with the first."""
    parts = re.split(r"(?m)^(?=diff --git )", diff)
    head, files = parts[0], parts[1:]
    if not files:
        return [("", diff)]
    files[0] = head + files[0]
    return [(_path_of(part), part) for part in files]


def _path_of(part: str) -> str:
    match = re.search(r"^diff --git a/(.*?) b/", part, re.MULTILINE)
    return match.group(1) if match else "?"


def _git(cwd: str, *args: str, problem: Optional[str] = None, setting: Optional[str] = None,
         ok_codes: Sequence[int] = (0,)) -> str:
    try:
        # Plain output whatever colours the user's git configuration asks for, and file names as they
        # are (not octal-quoted), so that the reviewer can name the real path.
        done = subprocess.run(["git", "-c", "color.ui=never", "-c", "core.quotepath=false", *args], cwd=cwd,
                              capture_output=True, timeout=GIT_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise BadArguments("git is not installed: a review of changes needs it", setting=setting) from None
    except subprocess.TimeoutExpired:
        raise BadArguments(f"git {args[0]} took more than {GIT_TIMEOUT_SECONDS}s in {cwd}", setting=setting) from None
    if done.returncode not in ok_codes:
        detail = done.stderr.decode("utf-8", "replace").strip().split("\n")[-1]
        raise BadArguments(problem or f"git {args[0]} failed in {cwd}: {detail}", setting=setting)
    return done.stdout.decode("utf-8", "replace")
