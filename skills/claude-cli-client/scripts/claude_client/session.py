"""A claude process in bidirectional stream-json mode: the control protocol and the turns.

One process serves every turn of a session (one-shot or REPL). Each turn is a
`user` line in; streamed events, tool permission requests (`can_use_tool`) and a
final `result` line out.
"""
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import List, Optional

from .inbox import Inbox
from .outcome import ClientError, ConnectionFailed, Envelope, Interrupted, TimedOut, TurnFailed
from .process import ClaudeProcess
from .shapes import as_dict, as_int, as_list, as_number, as_text, is_older, optional_text, parse_json_object

CLIENT_NAME = "claude-cli-client"
OLDEST_TESTED_CLAUDE = "2.1.197"       # the pinned claude the test suite runs; newer releases are tested too
INTERRUPT_GRACE_SECONDS = 5.0
INITIALIZE_TIMEOUT_SECONDS = 60.0
# System lines that are not news for the caller: the session's start and "requesting" progress.
QUIET_SYSTEM_SUBTYPES = ("init", "status")


@dataclass
class SessionOptions:
    claude_path: str
    cwd: Optional[str] = None
    resume_id: Optional[str] = None          # --resume this session
    extra_args: List[str] = field(default_factory=list)   # pass-through options for claude
    timeout: Optional[float] = None          # seconds to wait for the next line
    resume_timeout: Optional[float] = None   # the same, in a resumed session


@dataclass
class Decision:
    """The answer to a tool permission request."""
    allow: bool
    decided_by: str = "policy"
    message: str = "denied by claude-cli-client: no approval policy allows this tool"


def deny_all(tool_name, tool_input):
    return Decision(False)


class ClaudeSession:
    def __init__(self, options, tracer, decide=deny_all):
        self.options = options
        self.tracer = tracer
        self.decide = decide                 # decide(tool_name, tool_input) -> Decision
        self.inbox = Inbox()
        self.process = None
        self.session_id = options.resume_id
        self.claude_version = None
        self.request_ids = itertools.count(1)
        self.warned_version = False
        self.process_cost_usd = 0.0          # claude reports cost as a running total for its process

    # -- process ---------------------------------------------------------------

    def start(self):
        argv = [self.options.claude_path, "-p", "--input-format", "stream-json", "--output-format", "stream-json",
                "--verbose", "--include-partial-messages", "--permission-prompt-tool", "stdio",
                *self.options.extra_args]
        if self.options.resume_id:
            argv += ["--resume", self.options.resume_id]
        self.process = ClaudeProcess(argv, self.options.cwd, self.tracer)
        self.process_cost_usd = 0.0
        self.process.start(self.inbox)
        try:
            self._control("initialize", INITIALIZE_TIMEOUT_SECONDS)
        except ConnectionFailed as error:
            if self.options.resume_id and "No conversation found" in str(error):
                raise TurnFailed(f"{error} (claude finds a session only from the directory it was created in; "
                                 "leave out --cwd and the client finds that directory)") from None
            raise

    def start_new(self):
        """Ends this claude process and starts another with a fresh session."""
        self.close()
        self.options.resume_id = None
        self.session_id = None
        self.start()

    def close(self):
        """Closes claude's input so it can finish on its own, then makes sure it has ended."""
        if self.process is None:
            return
        self.process.close_input()
        self.process.wait(2)
        self.process.stop()
        self.process = None
        self.inbox.discard("message")

    def abort(self):
        if self.process is not None:
            self.process.stop()
            self.process = None

    def current_id(self):
        return self.session_id

    def next_input_line(self):
        """The next line typed on stdin (None at its end); needs `inbox.read_lines_from(stream)`."""
        while True:
            kind, value = self.inbox.get(None, ("message", "line"))
            if kind == "line":
                return value
            message = self._parse(value)
            if message.get("type") == "control_request":
                self.answer_control_request(message, None)
            elif message.get("type") == "system":
                self.note_system(message)

    # -- turns -----------------------------------------------------------------

    def run_turn(self, prompt, on_text=None):
        """Sends one user turn and returns its Envelope once claude's `result` line arrives."""
        turn = _Turn(self, on_text)
        try:
            self.process.send({"type": "user", "message": {"role": "user", "content": prompt},
                               "parent_tool_use_id": None, "session_id": self.session_id or "default"})
            while not turn.finished:
                turn.apply(self._next_message(self._timeout()))
        except KeyboardInterrupt:
            self._interrupt(turn)
        except ClientError as error:   # a timeout, claude dying, unparseable output: claude is ended
            self.abort()
            turn.envelope.fail(error)
        return turn.close()

    def _interrupt(self, turn):
        deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
        try:
            self._send_control("interrupt")
            self.tracer.info("interrupting the turn")
            while not turn.finished:
                turn.apply(self._next_message(max(0.01, deadline - time.monotonic())))
        except (KeyboardInterrupt, ClientError):
            self.abort()
        turn.envelope.fail(Interrupted("interrupted by the user"))

    def _timeout(self):
        return self.options.resume_timeout if self.options.resume_id else self.options.timeout

    # -- messages --------------------------------------------------------------

    def _next_message(self, timeout):
        try:
            _, line = self.inbox.get(timeout, ("message",))
        except TimedOut:
            option = "--resume-timeout" if self.options.resume_id else "--timeout"
            raise TimedOut(f"claude printed nothing for {timeout:g}s ({option}); it was stopped") from None
        return self._parse(line)

    def _parse(self, line):
        return parse_json_object(line, self.tracer, "claude printed")

    def _control(self, subtype, timeout):
        """Sends a control request and waits for its response (used before any turn)."""
        request_id = self._send_control(subtype)
        while True:
            message = self._next_message(timeout)
            response = as_dict(message.get("response"))
            if message.get("type") == "control_response" and response.get("request_id") == request_id:
                if response.get("subtype") == "error":
                    raise ConnectionFailed(f"claude refused {subtype}: {response.get('error')}")
                return as_dict(response.get("response"))
            if message.get("type") == "control_request":
                self.answer_control_request(message, None)
            elif message.get("type") == "system":
                self.note_system(message)

    def _send_control(self, subtype):
        request_id = f"req_{next(self.request_ids)}"
        self.process.send({"type": "control_request", "request_id": request_id, "request": {"subtype": subtype}})
        return request_id

    def answer_control_request(self, message, turn):
        request = as_dict(message.get("request"))
        request_id = message.get("request_id")
        if request.get("subtype") != "can_use_tool":
            self._respond(request_id, error=f"{CLIENT_NAME} does not support {request.get('subtype')!r}")
            return
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
        if turn is not None:
            turn.approvals.append(entry)
            if not decision.allow:
                turn.declined_tool_uses.add(optional_text(request.get("tool_use_id")))

    def _respond(self, request_id, result=None, error=None):
        response = {"subtype": "error", "request_id": request_id, "error": error} if error else \
            {"subtype": "success", "request_id": request_id, "response": result}
        self.process.send({"type": "control_response", "response": response})

    def note_system(self, message):
        if message.get("subtype") == "init":
            self.session_id = optional_text(message.get("session_id")) or self.session_id
            self.claude_version = optional_text(message.get("claude_code_version")) or self.claude_version
            self._check_version()

    def _check_version(self):
        version = self.claude_version or ""
        if not self.warned_version and is_older(version, OLDEST_TESTED_CLAUDE):
            self.warned_version = True
            self.tracer.warn(f"warning: claude {version or '(version unknown)'} is older than the oldest version "
                             f"this client is tested with ({OLDEST_TESTED_CLAUDE})")


def claude_reason(request):
    """Why claude asks before this tool use, in its own words, with the way out where there is one."""
    reason = as_text(request.get("decision_reason"))
    blocked = as_text(request.get("blocked_path"))
    if blocked and blocked not in reason:
        reason = f"{reason}: {blocked}" if reason else f"blocked path: {blocked}"
    if request.get("decision_reason_type") == "workingDir" or blocked:
        reason += " (allow the directory with --add-dir DIR)"
    return reason


def describe_tool(tool, tool_input):
    """'Bash: ls -la' for a shell command, else the tool and its input in short."""
    if isinstance(tool_input, dict) and isinstance(tool_input.get("command"), str):
        return f"{tool}: {tool_input['command']}"
    return f"{tool}: {json.dumps(tool_input, ensure_ascii=False)[:200]}"


class _Turn:
    """What one turn produced, gathered from claude's stream-json lines."""

    def __init__(self, session, on_text):
        self.session = session
        self.on_text = on_text
        self.envelope = Envelope(session_id=session.session_id, thread_id=session.session_id, turn_id=None)
        self.approvals = []
        self.tool_uses = {}              # tool_use id -> {"tool", "request", "status"}, in order of use
        self.declined_tool_uses = set()  # ids of the tool uses this client declined
        self.streamed_messages = set()   # assistant message ids whose text arrived as deltas
        self.current_message = None
        self.pieces = 0
        self.started_at = time.monotonic()
        self.result = None

    @property
    def finished(self):
        return self.envelope.exit_code is not None

    def apply(self, message):
        kind = message.get("type")
        if kind == "stream_event":
            self._stream_event(as_dict(message.get("event")))
        elif kind == "assistant":
            self._assistant(as_dict(message.get("message")))
        elif kind == "user":
            self._tool_results(as_dict(message.get("message")))
        elif kind == "control_request":
            self.session.answer_control_request(message, self)
        elif kind == "system":
            self.session.note_system(message)
            if message.get("subtype") not in QUIET_SYSTEM_SUBTYPES:
                self._notify(f"system/{as_text(message.get('subtype')) or 'unknown'}", message)
        elif kind == "rate_limit_event":
            self._notify("rate_limit_event", message)
        elif kind == "result":
            self._result(message)

    def _stream_event(self, event):
        if event.get("type") == "message_start":
            self.current_message = optional_text(as_dict(event.get("message")).get("id"))
        elif event.get("type") == "content_block_delta":
            delta = as_dict(event.get("delta"))
            if delta.get("type") == "text_delta":
                self.streamed_messages.add(self.current_message)
                self._show(as_text(delta.get("text")))

    def _assistant(self, message):
        streamed = optional_text(message.get("id")) in self.streamed_messages
        for block in map(as_dict, as_list(message.get("content"))):
            if block.get("type") == "text" and not streamed:
                self._show(as_text(block.get("text")))
            elif block.get("type") == "tool_use":
                self.tool_uses[optional_text(block.get("id"))] = {
                    "tool": as_text(block.get("name")),
                    "request": describe_tool(as_text(block.get("name")), as_dict(block.get("input"))),
                    "status": "inProgress"}

    def _tool_results(self, message):
        for block in map(as_dict, as_list(message.get("content"))):
            use = self.tool_uses.get(optional_text(block.get("tool_use_id")))
            if block.get("type") == "tool_result" and use is not None:
                if block.get("tool_use_id") in self.declined_tool_uses:
                    use["status"] = "declined"
                else:
                    use["status"] = "failed" if block.get("is_error") else "completed"

    def _show(self, text):
        if not text:
            return
        if self.pieces and self.current_message not in self.streamed_messages:
            text = "\n\n" + text
        self.pieces += 1
        self.envelope.add_text(text)
        if self.on_text:
            self.on_text(text)

    def _notify(self, method, message):
        detail = {key: value for key, value in as_dict(message).items() if key not in ("type", "session_id", "uuid")}
        self.envelope.notifications.append({"method": method, "message": detail})

    def _result(self, result):
        self.result = result
        self.session.session_id = optional_text(result.get("session_id")) or self.session.session_id
        if isinstance(result.get("result"), str):
            self.envelope.set_final_text(result["result"])
        if "structured_output" in result:   # the answer to --json-schema, already parsed by claude
            self.envelope.extra["output"] = result["structured_output"]
        for denial in as_list(result.get("permission_denials")):
            self._notify("permission_denial", denial)
        failed = result.get("is_error") not in (False, None) or result.get("subtype") not in ("success", None)
        if failed:
            reason = as_text(result.get("result")) or ", ".join(map(str, as_list(result.get("errors")))) \
                or str(result.get("subtype"))
            kind = "" if result.get("subtype") == "success" else f" ({result.get('subtype')})"
            self.envelope.finish("failed", f"claude reported an error{kind}: {reason}")
        else:
            self.envelope.finish("completed")
        self.envelope.ids["turn_id"] = optional_text(result.get("uuid"))

    def close(self):
        envelope = self.envelope
        envelope.ids["session_id"] = envelope.ids["thread_id"] = self.session.session_id
        result = as_dict(self.result)
        usage = as_dict(result.get("usage"))
        process_cost = max(0.0, float(as_number(result.get("total_cost_usd"))))
        turn_cost = max(0.0, process_cost - self.session.process_cost_usd)
        if self.result is not None:
            self.session.process_cost_usd = process_cost
        envelope.metrics = {
            "latency_ms": int((time.monotonic() - self.started_at) * 1000),
            "input_tokens": max(0, as_int(usage.get("input_tokens"))),
            "output_tokens": max(0, as_int(usage.get("output_tokens"))),
            "cache_read_input_tokens": max(0, as_int(usage.get("cache_read_input_tokens"))),
            "cache_creation_input_tokens": max(0, as_int(usage.get("cache_creation_input_tokens"))),
            "cost_usd": round(turn_cost, 9),
            "session_cost_usd": process_cost,
        }
        if self.approvals:
            envelope.extra["approvals"] = self.approvals
        if self.tool_uses:
            envelope.extra["tools"] = list(self.tool_uses.values())
        envelope.extra["claude_version"] = self.session.claude_version
        return envelope
