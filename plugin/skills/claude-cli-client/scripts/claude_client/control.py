"""claude's control protocol on its stream-json pipes, routed in one place: the requests this client
sends (initialize, interrupt) are matched to claude's responses by request id, and the ones claude
sends (can_use_tool) are answered by the one `decide` policy the session was built with."""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from agent_bridge.shapes import as_dict, as_list, as_text, optional_text


def describe_tool(tool: str, tool_input: Any) -> str:
    """'Bash: ls -la' for a shell command, else the tool and its input in short."""
    if isinstance(tool_input, dict) and isinstance(tool_input.get("command"), str):
        return f"{tool}: {tool_input['command']}"
    return f"{tool}: {json.dumps(tool_input, ensure_ascii=False)[:200]}"


@dataclass
class Decision:
    """The answer to a tool permission request."""
    allow: bool
    decided_by: str = "policy"
    message: str = "denied by claude-cli-client: no approval policy allows this tool"


def deny_all(tool_name: str, tool_input: Dict[str, Any]) -> Decision:
    return Decision(False)


Decide = Callable[[str, Dict[str, Any]], Decision]
# How a reason names a setting with its value: `name` is a Session parameter (add_dir, permission_mode,
# allowed_tools), `value` one value of it.
NameSetting = Callable[[str, str], str]


def library_setting(name: str, value: str) -> str:
    return f"{name} {value}"


@dataclass
class Request:
    """A control request this client sent, and claude's answer once it has come."""
    request_id: str
    subtype: str
    answered: bool = False
    response: Dict[str, Any] = field(default_factory=dict)   # what claude answered, when it accepted
    error: Optional[str] = None   # why not: claude refused it, or ended before answering


@dataclass
class Approval:
    """A tool permission request of claude's and the answer it got, as the turn's envelope lists it."""
    entry: Dict[str, str]          # kind, request, decision, decided_by and maybe reason
    tool_use_id: Optional[str]

    @property
    def declined(self) -> bool:
        return self.entry["decision"] == "decline"


# What routing a line of claude's gave: the request a response answered, the approval a request got, or
# nothing (a line of the turn's stream, or a request this client does not support).
Routed = Union[Request, Approval, None]


class Control:
    def __init__(self, send: Callable[[Dict[str, Any]], None], tracer: Any, decide: Decide = deny_all,
                 directories: Sequence[str] = (), name_setting: NameSetting = library_setting) -> None:
        self.send = send                 # writes one message to claude
        self.tracer = tracer
        self.decide = decide
        self.directories = directories   # where claude works: its directory and the add_dir ones
        self.name_setting = name_setting
        self.request_ids = itertools.count(1)
        self.pending: Dict[str, Request] = {}

    def request(self, subtype: str) -> Request:
        """Sends a control request; its answer arrives among claude's lines (see `route`)."""
        request = Request(f"req_{next(self.request_ids)}", subtype)
        self.pending[request.request_id] = request
        self.send({"type": "control_request", "request_id": request.request_id, "request": {"subtype": subtype}})
        return request

    def route(self, message: Dict[str, Any]) -> Routed:
        """The one place claude's control lines go: a response completes the request it answers, a
        request of claude's is answered; any other line is not a control line (None)."""
        kind = message.get("type")
        if kind == "control_response":
            return self._complete(as_dict(message.get("response")))
        if kind == "control_request":
            return self._answer(message)
        return None

    def fail_pending(self, reason: str) -> None:
        """claude has ended: no request still waiting will be answered."""
        for request in self.pending.values():
            request.answered, request.error = True, reason
        self.pending.clear()

    def _complete(self, response: Dict[str, Any]) -> Optional[Request]:
        request = self.pending.pop(as_text(response.get("request_id")), None)
        if request is None:
            self.tracer.info(f"claude answered a control request this client did not send: {response}")
            return None
        request.answered = True
        if response.get("subtype") == "error":
            request.error = as_text(response.get("error")) or "claude gave no reason"
            self.tracer.info(f"claude refused {request.subtype}: {request.error}")
        else:
            request.response = as_dict(response.get("response"))
        return request

    def _answer(self, message: Dict[str, Any]) -> Optional[Approval]:
        """Answers a control request from claude: a permission request by `decide`, any other with an error."""
        request = as_dict(message.get("request"))
        request_id = message.get("request_id")
        if request.get("subtype") != "can_use_tool":
            self._respond(request_id, error=f"claude-cli-client does not support {request.get('subtype')!r}")
            return None
        tool, tool_input = as_text(request.get("tool_name")), as_dict(request.get("input"))
        decision = self.decide(tool, tool_input)
        if decision.allow:
            self._respond(request_id, {"behavior": "allow", "updatedInput": tool_input})
        else:
            self._respond(request_id, {"behavior": "deny", "message": decision.message})
        entry = {"kind": "tool", "request": describe_tool(tool, tool_input),
                 "decision": "accept" if decision.allow else "decline", "decided_by": decision.decided_by}
        reason = claude_reason(request, self.directories, self.name_setting)
        if reason:
            entry["reason"] = reason
        self.tracer.info(f"{entry['decision']} {entry['request']} ({entry['decided_by']})")
        return Approval(entry, optional_text(request.get("tool_use_id")))

    def _respond(self, request_id: Any, result: Optional[Dict[str, Any]] = None, error: Optional[str] = None) -> None:
        response = {"subtype": "error", "request_id": request_id, "error": error} if error else \
            {"subtype": "success", "request_id": request_id, "response": result}
        self.send({"type": "control_response", "response": response})


def claude_reason(request: Dict[str, Any], directories: Sequence[str] = (),
                  name_setting: NameSetting = library_setting) -> str:
    """Why claude asks before this tool use, in its own words, with the settings that let it run."""
    reason = as_text(request.get("decision_reason"))
    blocked = as_text(request.get("blocked_path"))
    if blocked and blocked not in reason:
        reason = f"{reason}: {blocked}" if reason else f"blocked path: {blocked}"
    ways = ways_to_allow(request, directories, name_setting)
    if ways:
        reason = f"{reason or 'claude asks for permission'} ({ways})"
    return reason


def ways_to_allow(request: Dict[str, Any], directories: Sequence[str],
                  name_setting: NameSetting = library_setting) -> str:
    """The settings that let this tool use run, read from claude's own permission suggestions, as
    checked with claude 2.1.197 to 2.1.337: a directory outside `directories` needs add_dir, and
    a write (claude suggests a directory or acceptEdits for it) needs permission_mode acceptEdits
    too; add_dir of claude's own directory changes nothing. Any Bash command runs with
    allowed_tools Bash."""
    suggestions = [as_dict(suggestion) for suggestion in as_list(request.get("permission_suggestions"))]
    kinds = {suggestion.get("type") for suggestion in suggestions}
    needed = [directory for directory in _suggested_directories(suggestions) if not _within(directory, directories)]
    options = [name_setting("add_dir", directory) for directory in dict.fromkeys(needed)]
    if "addDirectories" in kinds or any(suggestion.get("mode") == "acceptEdits" for suggestion in suggestions):
        options.append(name_setting("permission_mode", "acceptEdits"))
    ways = [" ".join(options)] if options else []
    if as_text(request.get("tool_name")) == "Bash":
        ways.append(name_setting("allowed_tools", "Bash"))
    return f"{ways[0]} lets it run" + "".join(f", or {way}" for way in ways[1:]) if ways else ""


def _suggested_directories(suggestions: List[Dict[str, Any]]) -> Iterator[str]:
    """The directories claude suggests adding, and those of the Read rules it suggests ('//DIR/**')."""
    for suggestion in suggestions:
        if suggestion.get("type") == "addDirectories":
            yield from (as_text(directory) for directory in as_list(suggestion.get("directories")))
        for rule in map(as_dict, as_list(suggestion.get("rules"))):
            content = as_text(rule.get("ruleContent"))
            if rule.get("toolName") == "Read" and content.startswith("//") and content.endswith("/**"):
                yield content[1:-3]


def _within(path: str, directories: Iterable[str]) -> bool:
    return any(_is_under(os.path.abspath(path), os.path.abspath(directory)) for directory in directories)


def _is_under(path: str, directory: str) -> bool:
    try:
        return os.path.commonpath([path, directory]) == directory
    except ValueError:   # on different Windows drives
        return False
