"""claude's control protocol on its stream-json pipes: the requests we send (initialize,
interrupt) and the ones claude sends (can_use_tool), answered by a `decide` callback."""
import itertools
import os
import shlex
from dataclasses import dataclass

from agent_bridge.shapes import as_dict, as_list, as_text, optional_text

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
    def __init__(self, send, tracer, decide=deny_all, directories=()):
        self.send = send                 # writes one message to claude
        self.tracer = tracer
        self.decide = decide             # decide(tool_name, tool_input) -> Decision
        self.directories = directories   # where claude works: its directory and the --add-dir ones
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
        reason = claude_reason(request, self.directories)
        if reason:
            entry["reason"] = reason
        self.tracer.info(f"{entry['decision']} {entry['request']} ({entry['decided_by']})")
        return entry, optional_text(request.get("tool_use_id"))

    def _respond(self, request_id, result=None, error=None):
        response = {"subtype": "error", "request_id": request_id, "error": error} if error else \
            {"subtype": "success", "request_id": request_id, "response": result}
        self.send({"type": "control_response", "response": response})


def claude_reason(request, directories=()):
    """Why claude asks before this tool use, in its own words, with the options that let it run."""
    reason = as_text(request.get("decision_reason"))
    blocked = as_text(request.get("blocked_path"))
    if blocked and blocked not in reason:
        reason = f"{reason}: {blocked}" if reason else f"blocked path: {blocked}"
    ways = ways_to_allow(request, directories)
    if ways:
        reason = f"{reason or 'claude asks for permission'} ({ways})"
    return reason


def ways_to_allow(request, directories):
    """The options that let this tool use run, read from claude's own permission suggestions, as
    checked with claude 2.1.197 to 2.1.337: a directory outside `directories` needs --add-dir, and
    a write (claude suggests a directory or acceptEdits for it) needs --permission-mode acceptEdits
    too; --add-dir of claude's own directory changes nothing. Any Bash command runs with
    --allowed-tools Bash."""
    suggestions = [as_dict(suggestion) for suggestion in as_list(request.get("permission_suggestions"))]
    kinds = {suggestion.get("type") for suggestion in suggestions}
    needed = [directory for directory in _suggested_directories(suggestions) if not _within(directory, directories)]
    options = [f"--add-dir {shlex.quote(directory)}" for directory in dict.fromkeys(needed)]
    if "addDirectories" in kinds or any(suggestion.get("mode") == "acceptEdits" for suggestion in suggestions):
        options.append("--permission-mode acceptEdits")
    ways = [" ".join(options)] if options else []
    if as_text(request.get("tool_name")) == "Bash":
        ways.append("--allowed-tools Bash")
    return f"{ways[0]} lets it run" + "".join(f", or {way}" for way in ways[1:]) if ways else ""


def _suggested_directories(suggestions):
    """The directories claude suggests adding, and those of the Read rules it suggests ('//DIR/**')."""
    for suggestion in suggestions:
        if suggestion.get("type") == "addDirectories":
            yield from (as_text(directory) for directory in as_list(suggestion.get("directories")))
        for rule in map(as_dict, as_list(suggestion.get("rules"))):
            content = as_text(rule.get("ruleContent"))
            if rule.get("toolName") == "Read" and content.startswith("//") and content.endswith("/**"):
                yield content[1:-3]


def _within(path, directories):
    return any(_is_under(os.path.abspath(path), os.path.abspath(directory)) for directory in directories)


def _is_under(path, directory):
    try:
        return os.path.commonpath([path, directory]) == directory
    except ValueError:   # on different Windows drives
        return False
