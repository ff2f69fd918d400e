"""Answers to the agent's `session/request_permission`: a policy that declines unless told otherwise.

Nothing runs that nobody approved: by default every request is answered with the agent's
reject option (never an allow). `approve` names the kinds of tool call to allow without asking;
`ask` (a function that asks a person) decides the rest.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from agent_bridge.shapes import as_dict, as_list, as_text

# ACP's tool kinds (ToolKind); a tool call without a known one counts as "other".
TOOL_KINDS = frozenset({"read", "edit", "delete", "move", "search", "execute", "think", "fetch", "switch_mode",
                        "other"})
# The words --approve takes, as the other clients spell them, and the tool kinds each lets through.
APPROVE_CHOICES = {"commands": frozenset({"execute"}), "file-changes": frozenset({"edit", "delete", "move"}),
                   "all": TOOL_KINDS}
# Who decided, when a person was asked but gave no answer (end of input).
NO_ANSWER = "no_answer"

# ask(tool kind, what the tool call does) -> True (allow), False (reject), None (no answer: rejected)
Ask = Callable[[str, str], Optional[bool]]


def tool_kind(tool_call: Dict[str, Any]) -> str:
    kind = as_text(tool_call.get("kind"))
    return kind if kind in TOOL_KINDS else "other"


class PermissionPolicy:
    def __init__(self, approve: Iterable[str] = (), ask: Optional[Ask] = None) -> None:
        """`approve`: tool kinds allowed without asking (see APPROVE_CHOICES); `ask` decides the rest."""
        self.approve = frozenset(approve)
        self.ask = ask

    def decide(self, params: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """The answer to one permission request, and its entry for the envelope's `approvals`."""
        tool_call = as_dict(params.get("toolCall"))
        kind, request = tool_kind(tool_call), as_text(tool_call.get("title")) or "a tool call"
        if kind in self.approve:
            allow, decided_by = True, "policy"
        elif self.ask is None:
            allow, decided_by = False, "policy"
        else:
            answer = self.ask(kind, request)
            allow, decided_by = bool(answer), "user" if answer is not None else NO_ANSWER
        options = [as_dict(option) for option in as_list(params.get("options"))]
        wanted = ("allow_once", "allow_always") if allow else ("reject_once", "reject_always")
        option_id = _first_option(options, wanted)
        outcome = {"outcome": "selected", "optionId": option_id} if option_id else {"outcome": "cancelled"}
        entry = {"kind": kind, "request": request, "decision": "accept" if allow and option_id else "decline",
                 "decided_by": decided_by, "option": option_id}
        return {"outcome": outcome}, entry


def _first_option(options: List[Dict[str, Any]], kinds: Tuple[str, ...]) -> Optional[str]:
    """The id of the first option of the first of `kinds` the agent offers, else None."""
    for kind in kinds:
        for option in options:
            if option.get("kind") == kind and isinstance(option.get("optionId"), str):
                return str(option["optionId"])
    return None
