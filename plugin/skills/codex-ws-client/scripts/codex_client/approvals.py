"""Answers to the server's approval requests: a policy that declines unless told otherwise.

Nothing runs that nobody approved: by default every command, file change and
permission request is declined. `approve` names kinds to accept without asking;
`ask` (a function that asks a person) decides the rest. Questions Codex asks the user
(`item/tool/requestUserInput`) are answered by `ask_question`, or left unanswered.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional

from agent_bridge.shapes import as_dict, as_list, as_text

COMMAND, FILE_CHANGE, PERMISSIONS = "command", "file_change", "permissions"
# The words --approve takes (brainstorm's too), and the kinds of request each lets through.
APPROVE_CHOICES = {"commands": {COMMAND}, "file-changes": {FILE_CHANGE}, "permissions": {PERMISSIONS},
                   "all": {COMMAND, FILE_CHANGE, PERMISSIONS}}

# method -> kind of approval
APPROVAL_KINDS = {
    "item/commandExecution/requestApproval": COMMAND,
    "execCommandApproval": COMMAND,
    "item/fileChange/requestApproval": FILE_CHANGE,
    "applyPatchApproval": FILE_CHANGE,
    "item/permissions/requestApproval": PERMISSIONS,
}
LEGACY = {"execCommandApproval", "applyPatchApproval"}
LEGACY_REJECTION = "declined by codex-ws-client"
QUESTIONS = "item/tool/requestUserInput"
# Who decided, when a person was asked but gave no answer (end of input).
NO_ANSWER = "no_answer"


class Answer:
    """A result for a server request, and who decided it (for the envelope's `approvals`)."""

    def __init__(self, result: Any, decided_by: str = "callback") -> None:
        self.result = result
        self.decided_by = decided_by


def describe_request(method: str, params: Dict[str, Any], item: Optional[Dict[str, Any]] = None) -> str:
    """A one-line description of what the server asks to do; `item` is the turn item it is about."""
    kind = APPROVAL_KINDS.get(method)
    if kind == FILE_CHANGE and item and isinstance(item.get("changes"), list) and item["changes"]:
        return ", ".join(str(as_dict(change).get("path") or "") for change in item["changes"])
    if method == "execCommandApproval":
        return " ".join(map(str, as_list(params.get("command"))))
    if method == "applyPatchApproval":
        return ", ".join(sorted(map(str, as_dict(params.get("fileChanges")).keys()))) or "a patch"
    if kind == COMMAND:
        return as_text(params.get("command"))
    if kind == FILE_CHANGE:
        return as_text(params.get("reason")) or as_text(params.get("grantRoot")) or "file changes"
    return as_text(params.get("reason")) or json_summary(params.get("permissions"))


def json_summary(value: Any) -> str:
    return str(value) if value else "additional permissions"


def decision_of(method: str, result: Any) -> Any:
    """The decision a result carries, in the v2 words: accept, acceptForSession, decline, cancel."""
    if APPROVAL_KINDS.get(method) == PERMISSIONS:
        return "accept" if (result or {}).get("permissions") else "decline"
    decision = (result or {}).get("decision")
    if isinstance(decision, dict):   # e.g. {"denied": {"rejection": ...}}
        decision = next(iter(decision), None)
    words: Dict[Any, Any] = {"approved": "accept", "approved_for_session": "acceptForSession",
                             "denied": "decline", "abort": "cancel"}
    return words.get(decision, decision or "decline")


class ApprovalPolicy:
    """Decides approval requests. Call it with (method, params, item), where item is the turn
    item the request is about (or None); it returns an Answer, or None for a request that is
    not an approval."""

    def __init__(self, approve: Iterable[str] = (), for_session: bool = False,
                 ask: Optional[Callable[[str, str], Optional[bool]]] = None,
                 ask_question: Optional[Callable[[Dict[str, Any]], Optional[str]]] = None) -> None:
        self.approve = set(approve)      # kinds accepted without asking
        self.for_session = for_session
        self.ask = ask                   # ask(kind, description) -> True, False, or None for no answer
        self.ask_question = ask_question  # ask_question(question dict) -> answer text, or None

    def __call__(self, method: str, params: Dict[str, Any], item: Optional[Dict[str, Any]] = None) -> Optional[Answer]:
        if method == QUESTIONS:
            return self._answer_questions(params)
        kind = APPROVAL_KINDS.get(method)
        if kind is None:
            return None
        if kind in self.approve:
            return Answer(self._accept(method, kind, params), "policy")
        if self.ask is None:
            return Answer(_decline(method, kind), "policy")
        accepted = self.ask(kind, describe_request(method, params, item))
        if accepted is None:
            return Answer(_decline(method, kind), NO_ANSWER)
        return Answer(self._accept(method, kind, params) if accepted else _decline(method, kind), "user")

    def _answer_questions(self, params: Dict[str, Any]) -> Answer:
        answers: Dict[str, Any] = {}
        for question in map(as_dict, as_list(params.get("questions"))):
            reply = self.ask_question(question) if self.ask_question else None
            if reply:
                answers[as_text(question.get("id"))] = {"answers": [reply]}
        decided_by = "policy" if self.ask_question is None else "user" if answers else NO_ANSWER
        return Answer({"answers": answers}, decided_by)

    def _accept(self, method: str, kind: str, params: Dict[str, Any]) -> Dict[str, Any]:
        if kind == PERMISSIONS:
            return {"permissions": as_dict(params.get("permissions")),
                    "scope": "session" if self.for_session else "turn"}
        if method in LEGACY:
            return {"decision": "approved_for_session" if self.for_session else "approved"}
        offered = params.get("availableDecisions")
        session_offered = not isinstance(offered, list) or "acceptForSession" in offered
        return {"decision": "acceptForSession" if self.for_session and session_offered else "accept"}


def _decline(method: str, kind: str) -> Dict[str, Any]:
    if kind == PERMISSIONS:
        return {"permissions": {}}
    if method in LEGACY:   # a bare "denied" is not a ReviewDecision of the pinned server
        return {"decision": {"denied": {"rejection": LEGACY_REJECTION}}}
    return {"decision": "decline"}


def question_entries(params: Dict[str, Any], result: Any, decided_by: str) -> List[Dict[str, Any]]:
    """The envelope's record of each question asked: what, the options, and the answer (None: unanswered)."""
    answers = as_dict(as_dict(result).get("answers"))
    entries = []
    for question in map(as_dict, as_list(params.get("questions"))):
        question_id = as_text(question.get("id"))
        given = as_list(as_dict(answers.get(question_id)).get("answers"))
        entries.append({"id": question_id, "header": as_text(question.get("header")),
                        "question": as_text(question.get("question")),
                        "options": [as_text(as_dict(option).get("label")) for option in as_list(question.get("options"))],
                        "answer": given[0] if given else None,
                        "answered_by": decided_by if given or decided_by == "policy" else NO_ANSWER})
    return entries
