"""Answers to the server's requests: approvals by policy or by asking, the rest refused.

Nothing runs that nobody approved: without --interactive-approvals every
command, file change and permission request is declined.
"""

METHOD_NOT_SUPPORTED = -32601

# method -> (kind, how to describe the request, answer if accepted, answer if declined)
APPROVAL_REQUESTS = {
    "item/commandExecution/requestApproval": (
        "command", lambda p: p.get("command") or "",
        lambda p: {"decision": "accept"}, {"decision": "decline"}),
    "item/fileChange/requestApproval": (
        "file_change", lambda p: p.get("reason") or p.get("grantRoot") or "file changes",
        lambda p: {"decision": "accept"}, {"decision": "decline"}),
    "item/permissions/requestApproval": (
        "permissions", lambda p: p.get("reason") or "additional permissions",
        lambda p: {"permissions": p.get("permissions") or {}}, {"permissions": {}}),
    "execCommandApproval": (
        "command", lambda p: " ".join(p.get("command") or []),
        lambda p: {"decision": "approved"}, {"decision": "denied"}),
    "applyPatchApproval": (
        "file_change", lambda p: ", ".join(sorted((p.get("fileChanges") or {}).keys())) or "a patch",
        lambda p: {"decision": "approved"}, {"decision": "denied"}),
}


class Approver:
    """Decides approval requests; with a console, asks the person at it."""

    def __init__(self, console=None):
        self.console = console

    def decide(self, method, params):
        """Returns (result, record) for an approval request, or None if `method` is not one."""
        if method not in APPROVAL_REQUESTS:
            return None
        kind, describe, accept, decline = APPROVAL_REQUESTS[method]
        subject = describe(params)
        accepted, decided_by = self._ask(kind, subject) if self.console else (False, "policy")
        record = {"kind": kind, "request": subject, "decision": "accept" if accepted else "decline",
                  "decided_by": decided_by}
        return (accept(params) if accepted else decline), record

    def _ask(self, kind, subject):
        answer = self.console.ask(f"Codex asks to allow {kind.replace('_', ' ')}: {subject}\nAllow? [y/N] ")
        return (answer or "").lower() in ("y", "yes"), "user"
