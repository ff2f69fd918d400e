"""Code reviews both clients run: what to review, how (the style), and the one `review` shape
of the envelope, whichever agent reviewed.

The shape follows codex's review output (findings with a title, body, priority, confidence and
code location; an overall verdict), so a caller can compare both agents' findings field by field.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, TypedDict

from .outcome import BadArguments
from .shapes import as_dict, as_list, as_number, as_text, optional_int, optional_text

UNCOMMITTED, BASE_BRANCH, COMMIT, CUSTOM = "uncommittedChanges", "baseBranch", "commit", "custom"
DEFAULT_STYLE, ADVERSARIAL_STYLE = "default", "adversarial"
STYLES = (DEFAULT_STYLE, ADVERSARIAL_STYLE)

ADVERSARIAL_INSTRUCTIONS = (
    "Review adversarially. Assume the change is wrong until it shows otherwise: challenge its design and the "
    "assumptions it rests on (its inputs, concurrency, failure and partial-failure paths, scale, security "
    "boundaries, compatibility), look for the case that breaks it, and ask whether a simpler or safer approach "
    "was missed. Do not comment on style or naming.")

# What the model is asked for, field by field; claude-cli-client sends it with REVIEW_OUTPUT_SCHEMA.
REVIEW_GUIDE = (
    "You are reviewing a code change made by another engineer. Flag only what the author would want to fix: "
    "discrete, actionable problems that this change introduces and that affect correctness, security, "
    "performance or maintainability; not pre-existing problems, not matters of taste.\n"
    "For each finding give a short title that starts with its priority tag ([P0] blocks release, [P1] urgent, "
    "[P2] normal, [P3] low), a body that says why it is a problem and when it happens, the priority as a number "
    "(0-3), your confidence_score (0 to 1), and the code_location: the file's absolute path and the shortest "
    "line range (start, end) of the new version that shows the problem. End with overall_correctness "
    "(\"patch is correct\" or \"patch is incorrect\"), overall_explanation (one to three sentences) and "
    "overall_confidence_score (0 to 1). No findings is a valid answer.")

_CONFIDENCE = {"type": "number", "minimum": 0, "maximum": 1}
REVIEW_OUTPUT_SCHEMA = {
    "type": "object",
    "required": ["findings", "overall_correctness", "overall_explanation", "overall_confidence_score"],
    "properties": {
        "findings": {"type": "array", "items": {
            "type": "object",
            "required": ["title", "body", "priority", "confidence_score", "code_location"],
            "properties": {
                "title": {"type": "string"}, "body": {"type": "string"},
                "priority": {"type": "integer", "minimum": 0, "maximum": 3}, "confidence_score": _CONFIDENCE,
                "code_location": {"type": "object", "required": ["absolute_file_path", "line_range"], "properties": {
                    "absolute_file_path": {"type": "string"},
                    "line_range": {"type": "object", "required": ["start", "end"],
                                   "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}}}}}}}},
        "overall_correctness": {"type": "string"}, "overall_explanation": {"type": "string"},
        "overall_confidence_score": _CONFIDENCE}}

# codex renders its review output as text: the overall explanation, then this header and one
# "- TITLE — FILE:START-END" line per finding (a checkbox before the title when findings were
# selected), its body indented by two spaces.
_FINDINGS_HEADERS = ("Review comment:", "Full review comments:")
_FINDING_LINE = re.compile(r"^- (?:\[[ x]\] )?(?P<title>.*) \u2014 (?P<file>.+):(?P<start>\d+)-(?P<end>\d+)$")
_PRIORITY_TAG = re.compile(r"^\[P([0-3])\]")


class ReviewTarget(TypedDict, total=False):
    type: str             # uncommittedChanges, baseBranch, commit or custom
    branch: str
    sha: str
    instructions: str


class LineRange(TypedDict):
    start: int
    end: int


class Finding(TypedDict):
    title: str
    body: str
    priority: Optional[int]       # 0 (blocks release) to 3 (low)
    confidence: Optional[float]   # 0 to 1
    file: Optional[str]           # an absolute path
    lines: Optional[LineRange]


class Overall(TypedDict):
    correctness: Optional[str]    # "patch is correct" or "patch is incorrect"
    explanation: Optional[str]
    confidence: Optional[float]


class Review(TypedDict, total=False):
    """The envelope's `review`: `target` and `style` always; then `findings` with `overall` (an
    answer in the review form) or `text` (one that is not); `note` when the client left files out."""
    target: ReviewTarget
    style: str
    findings: List[Finding]
    overall: Overall
    text: str
    note: str


class ReviewRequest:
    """What to review: exactly one of the uncommitted changes, the changes since a base branch, or a
    commit; or, with none of them, `instructions` alone (a custom review). With a target,
    `instructions` are added to the review's instructions. `style` is default or adversarial."""

    def __init__(self, uncommitted: bool = False, base: Optional[str] = None, commit: Optional[str] = None,
                 instructions: Optional[str] = None, style: str = DEFAULT_STYLE) -> None:
        chosen = [name for name, value in (("uncommitted", uncommitted), ("base", base), ("commit", commit)) if value]
        if len(chosen) > 1:
            raise BadArguments(f"one review target at a time, not {' and '.join(chosen)}")
        if not chosen and not instructions:
            raise BadArguments("a review needs a target (uncommitted, base or commit) or instructions")
        if style not in STYLES:
            raise BadArguments(f"review style {style!r} is not one of {', '.join(STYLES)}", setting="style")
        for value, setting in ((base, "base"), (commit, "commit")):
            if value is not None and (not value.strip() or value.startswith("-")):
                raise BadArguments(f"{value!r} is not a branch or commit name", setting=setting)
        self.kind = UNCOMMITTED if uncommitted else BASE_BRANCH if base else COMMIT if commit else CUSTOM
        self.base = base
        self.commit = commit
        self.instructions = instructions
        self.style = style

    def target(self) -> ReviewTarget:
        """The target as the envelope's `review.target` (and codex's review/start) name it."""
        target: ReviewTarget = {"type": self.kind}
        if self.base:
            target["branch"] = self.base
        if self.commit:
            target["sha"] = self.commit
        if self.instructions:
            target["instructions"] = self.instructions
        return target

    def description(self) -> str:
        """What is under review, in words for the model."""
        if self.kind == UNCOMMITTED:
            return "the current code changes (staged, unstaged, and untracked files)"
        if self.kind == BASE_BRANCH:
            return (f"the code changes against the base branch '{self.base}' (what `git diff` shows against "
                    f"`git merge-base HEAD {self.base}`)")
        if self.kind == COMMIT:
            return f"the code changes introduced by commit {self.commit} (what `git show {self.commit}` shows)"
        return "what the instructions below name"

    def instructions_text(self) -> str:
        """The review's instructions beyond the target: the style's, then the caller's."""
        parts = [ADVERSARIAL_INSTRUCTIONS] if self.style == ADVERSARIAL_STYLE else []
        if self.instructions:
            parts.append(self.instructions)
        return "\n\n".join(parts)


def review_from_output(request: ReviewRequest, output: Any) -> Review:
    """The envelope's `review` from codex's review-output JSON (also what claude is asked to answer)."""
    output = as_dict(output)
    findings: List[Finding] = []
    for finding in map(as_dict, as_list(output.get("findings"))):
        location = as_dict(finding.get("code_location"))
        lines = as_dict(location.get("line_range"))
        findings.append(_finding(as_text(finding.get("title")), as_text(finding.get("body")),
                                 finding.get("priority"), finding.get("confidence_score"),
                                 optional_text(location.get("absolute_file_path")),
                                 optional_int(lines.get("start")), optional_int(lines.get("end"))))
    overall: Overall = {"correctness": optional_text(output.get("overall_correctness")),
                        "explanation": optional_text(output.get("overall_explanation")),
                        "confidence": _confidence(output.get("overall_confidence_score"))}
    return {**review_head(request), "findings": findings, "overall": overall}


def review_from_text(request: ReviewRequest, text: str) -> Review:
    """The envelope's `review` from the text codex renders its review output as; text that is not
    in that form (the model did not answer with review output) is kept as `text`."""
    lines = text.split("\n")
    header = next((number for number, line in enumerate(lines) if line.strip() in _FINDINGS_HEADERS), None)
    if header is None:
        return plain_review(request, text)
    findings: List[Finding] = []
    for line in lines[header + 1:]:
        match = _FINDING_LINE.match(line)
        if match:
            findings.append(_finding(match["title"], "", None, None, match["file"], int(match["start"]),
                                     int(match["end"])))
        elif findings and (line.startswith("  ") or not line.strip()):
            findings[-1]["body"] += line[2:] + "\n"
    for finding in findings:
        finding["body"] = finding["body"].strip("\n")
    # codex's text carries neither the confidences nor the overall verdict: only the explanation.
    overall: Overall = {"correctness": None, "explanation": "\n".join(lines[:header]).strip() or None,
                        "confidence": None}
    return {**review_head(request), "findings": findings, "overall": overall}


def plain_review(request: ReviewRequest, text: str) -> Review:
    """The envelope's `review` of an answer that is not review output: no findings, the text."""
    return {**review_head(request), "findings": [], "text": text}


def format_review(review: Review) -> str:
    """The review as a person reads it: the verdict, then one block per finding."""
    if "text" in review:
        blocks = [review["text"]]
    else:
        overall = review.get("overall")
        verdict = ": ".join(part for part in (overall.get("correctness"), overall.get("explanation")) if part) \
            if overall else ""
        blocks = [verdict] if verdict else []
        blocks += [_format_finding(finding) for finding in review["findings"]] or ["No findings."]
    if review.get("note"):
        blocks.append(f"[{review['note']}]")
    return "\n\n".join(blocks) + "\n"


def _format_finding(finding: Finding) -> str:
    priority = "" if finding["priority"] is None or _PRIORITY_TAG.match(finding["title"]) \
        else f"[P{finding['priority']}] "
    where = finding["file"] or "(no file)"
    lines = finding["lines"]
    if lines:
        where += f":{lines['start']}-{lines['end']}"
    body = "".join(f"\n  {line}" for line in finding["body"].split("\n")) if finding["body"] else ""
    return f"{priority}{finding['title']}\n  {where}{body}"


def review_head(request: ReviewRequest) -> Review:
    """What is under review and how: the `review` of a detached review's inProgress envelope, which the
    findings complete once it ends."""
    return {"target": request.target(), "style": request.style}


def _finding(title: str, body: str, priority: Any, confidence: Any, file: Optional[str], start: Optional[int],
             end: Optional[int]) -> Finding:
    number = optional_int(priority)
    tag = _PRIORITY_TAG.match(title)
    if number is None and tag:
        number = int(tag.group(1))
    return {"title": title, "body": body, "priority": number if number in (0, 1, 2, 3) else None,
            "confidence": _confidence(confidence), "file": file,
            "lines": {"start": start, "end": end if end is not None else start} if start is not None else None}


def _confidence(value: Any) -> Optional[float]:
    number = as_number(value)
    return number if number == value and 0 <= number <= 1 else None


def review_prompt(request: ReviewRequest, root: str, diff: str, note: Optional[str] = None) -> str:
    """What a peer that reviews from a diff in its prompt (claude, an ACP agent) is asked: the guide to
    the review output, what to review, the instructions of the style and the caller, the diff (none for
    a custom review), and what was left out of the diff (`note`), so that the verdict does not judge an
    incomplete diff as whole."""
    parts = [REVIEW_GUIDE, f"Review {request.description()} in the repository at {root}."]
    if request.instructions_text():
        parts.append(request.instructions_text())
    if request.kind != CUSTOM:
        parts.append(f"The changes, as git shows them:\n<diff>\n{diff}\n</diff>")
    if note:
        parts.append(f"Not all of the changes are in that diff ({note}). Judge only what it shows, and say in "
                     "overall_explanation that the rest was not reviewed.")
    return "\n\n".join(parts)
