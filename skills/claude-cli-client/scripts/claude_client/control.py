"""claude's control protocol on its stream-json pipes: the requests we send (initialize,
interrupt) and the ones claude sends (can_use_tool), answered by a `decide` callback."""
import itertools
from dataclasses import dataclass

from agent_bridge.shapes import as_dict, as_text, optional_text

from .turn import describe_tool


@dataclass
class Decision:
    """The answer to a tool permission request."""
    allow: bool
    decided_by: str = "policy"
    message: str = "denied by claude-cli-client: no approval policy allows this tool"


def deny_all(tool_name, tool_input):
    return Decision(False)


class Control:
    def __init__(self, send, tracer, decide=deny_all):
        self.send = send                 # writes one message to claude
        self.tracer = tracer
        self.decide = decide             # decide(tool_name, tool_input) -> Decision
        self.request_ids = itertools.count(1)

    def request(self, subtype):
        """Sends a control request; returns its id (the response arrives among claude's lines)."""
        request_id = f"req_{next(self.request_ids)}"
        self.send({"type": "control_request", "request_id": request_id, "request": {"subtype": subtype}})
        return request_id

    def answer(self, message):
        """Answers a control request from claude. Returns (the approvals entry, the tool use id) for a
        permission request, (None, None) for one this client does not support."""
        request = as_dict(message.get("request"))
        request_id = message.get("request_id")
        if request.get("subtype") != "can_use_tool":
            self._respond(request_id, error=f"claude-cli-client does not support {request.get('subtype')!r}")
            return None, None
        tool, tool_input = as_text(request.get("tool_name")), as_dict(request.get("input"))
        decision = self.decide(tool, tool_input)
        if decision.allow:
            self._respond(request_id, {"behavior": "allow", "updatedInput": tool_input})
        else:
            self._respond(request_id, {"behavior": "deny", "message": decision.message})
        entry = {"kind": "tool", "request": describe_tool(tool, tool_input),
                 "decision": "accept" if decision.allow else "decline", "decided_by": decision.decided_by}
        reason = claude_reason(request)
        if reason:
            entry["reason"] = reason
        self.tracer.info(f"{entry['decision']} {entry['request']} ({entry['decided_by']})")
        return entry, optional_text(request.get("tool_use_id"))

    def _respond(self, request_id, result=None, error=None):
        response = {"subtype": "error", "request_id": request_id, "error": error} if error else \
            {"subtype": "success", "request_id": request_id, "response": result}
        self.send({"type": "control_response", "response": response})


def claude_reason(request):
    """Why claude asks before this tool use, in its own words, with the way out where there is one."""
    reason = as_text(request.get("decision_reason"))
    blocked = as_text(request.get("blocked_path"))
    if blocked and blocked not in reason:
        reason = f"{reason}: {blocked}" if reason else f"blocked path: {blocked}"
    if request.get("decision_reason_type") == "workingDir" or blocked:
        reason += " (allow the directory with --add-dir DIR)"
    return reason
