"""Session: an ACP agent (Gemini CLI's `gemini --acp`, or any other) behind the interface the other
clients' Sessions share: `ask(prompt, max_time=None) -> envelope dict`, `start(prompt) -> turn`,
`close()`.

    from acp_client import Session, gemini_command

    with Session(gemini_command(model="gemini-2.5-flash"), cwd="/path/to/repo") as gemini:
        print(gemini.ask("Summarize this repo")["text"])

The client offers the agent no file system and no terminal: the agent's own tools and sandbox apply.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from agent_bridge import CORE_VERSION
from agent_bridge.deadline import Deadline
from agent_bridge.inbox import Inbox
from agent_bridge.outcome import ConnectionFailed, EnvelopeDict, TurnFailed
from agent_bridge.review import ReviewRequest
from agent_bridge.shapes import as_dict, optional_text
from agent_bridge.trace import Tracer

from .connection import AgentError, Connection
from .permissions import PermissionPolicy
from .process import AgentProcess, find_executable
from .review import review_prompt
from .turn import AcpTurn, OnMessage, OnText

CLIENT_NAME = "acp-client"
PROTOCOL_VERSION = 1
# What the client offers the agent: nothing beyond the protocol itself.
CLIENT_CAPABILITIES = {"fs": {"readTextFile": False, "writeTextFile": False}, "terminal": False}
# A loaded session's history is replayed as session/update notifications. ACP has the agent answer
# session/load once the replay is over; gemini (0.61.0) answers at its start and replays on, so the
# replay is let go until the agent has been quiet this long (at most REPLAY_LIMIT_SECONDS).
REPLAY_QUIET_SECONDS = 0.5
REPLAY_LIMIT_SECONDS = 30.0


def gemini_command(model: Optional[str] = None, gemini_bin: str = "gemini") -> List[str]:
    """The command line of Gemini CLI as an ACP agent."""
    return [gemini_bin, "--acp", *(["-m", model] if model else [])]


class Session:
    def __init__(self, agent_command: Sequence[str], *, cwd: Optional[str] = None, session_id: Optional[str] = None,
                 timeout: Optional[float] = 300.0, policy: Optional[PermissionPolicy] = None,
                 tracer: Optional[Tracer] = None, inbox: Optional[Inbox] = None,
                 deadline: Optional[Deadline] = None) -> None:
        """Starts the agent (`agent_command`, e.g. gemini_command()), initializes it and opens a
        session: a new one, or `session_id` loaded (the agent must offer session/load).
        `timeout`: the longest silence of the agent waited through (None: no limit). `policy`
        answers every permission request (default: each one rejected). `inbox`: where the agent's
        output (and any typed lines) arrive, see agent_bridge.inbox. `deadline`: a limit on
        starting (e.g. the whole call's), so the start cannot outlast it."""
        self.tracer = tracer or Tracer(CLIENT_NAME)
        argv = find_executable(list(agent_command))
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self.timeout = timeout or None
        self.inbox = inbox or Inbox()
        self.process = AgentProcess(argv, self.cwd, self.tracer, os.path.basename(agent_command[0]))
        self.connection = Connection(self.process, self.inbox, self.tracer, policy or PermissionPolicy())
        self.agent_info: Dict[str, Any] = {}
        self.capabilities: Dict[str, Any] = {}
        start_deadline = deadline or Deadline(None)
        self.process.start(self.inbox)
        try:
            self._initialize(start_deadline)
            self.session_id = self._load(session_id, start_deadline) if session_id else self._new(start_deadline)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def agent_version(self) -> Optional[str]:
        return optional_text(self.agent_info.get("version"))

    def start(self, prompt: str, on_text: Optional[OnText] = None, on_message: Optional[OnMessage] = None) -> AcpTurn:
        """Sends one prompt and returns its turn at once; `on_text` gets each piece of the answer,
        `on_message` each message of the agent during the turn, before it is handled."""
        return self._send(prompt, on_text, on_message)

    def review(self, request: ReviewRequest, on_text: Optional[OnText] = None,
               on_message: Optional[OnMessage] = None) -> AcpTurn:
        """Starts a review and returns its turn at once; its envelope gets `review`. The diff is read
        with git in the session's directory first (BadArguments: not a repository, nothing to review, ...)."""
        prompt, note = review_prompt(request, self.cwd)
        return self._send(prompt, on_text, on_message, request, note)

    def _send(self, prompt: str, on_text: Optional[OnText], on_message: Optional[OnMessage],
              review: Optional[ReviewRequest] = None, review_note: Optional[str] = None) -> AcpTurn:
        def turn(request: Optional[int]) -> AcpTurn:
            return AcpTurn(self.connection, self.session_id, request, self.timeout, self.agent_version, on_text,
                           on_message, review, review_note)
        try:
            request = self.connection.request(
                "session/prompt", {"sessionId": self.session_id, "prompt": [{"type": "text", "text": prompt}]})
        except ConnectionFailed as error:
            unsent = turn(None)
            unsent.abandon(error)
            return unsent
        return turn(request)

    def ask(self, prompt: str, max_time: Optional[float] = None, on_text: Optional[OnText] = None) -> EnvelopeDict:
        """Runs a turn to its end; returns the envelope `--json` prints (errors are in it, not raised).
        With `max_time` (seconds) the turn is cancelled then: its status is timeout (see Turn.result)."""
        return self.start(prompt, on_text).result(max_time).to_dict()

    def start_new(self) -> None:
        """Opens a new session with the same agent process."""
        self.session_id = self._new(Deadline(None))

    def close(self) -> None:
        """Ends the agent and everything it started."""
        self.process.stop()
        self.inbox.discard("message")

    def _initialize(self, deadline: Deadline) -> None:
        try:
            result = self.connection.call("initialize", {
                "protocolVersion": PROTOCOL_VERSION, "clientCapabilities": CLIENT_CAPABILITIES,
                "clientInfo": {"name": CLIENT_NAME, "version": CORE_VERSION}}, self.timeout, deadline)
        except AgentError as error:
            raise ConnectionFailed(str(error)) from None
        if result.get("protocolVersion") != PROTOCOL_VERSION:
            raise ConnectionFailed(f"{self.process.name} speaks ACP version {result.get('protocolVersion')!r}; "
                                   f"this client speaks version {PROTOCOL_VERSION}")
        self.agent_info = as_dict(result.get("agentInfo"))
        self.capabilities = as_dict(result.get("agentCapabilities"))

    def _new(self, deadline: Deadline) -> str:
        """A new session's id. The agent refusing one (not logged in, ...) is a connection failure."""
        try:
            result = self.connection.call("session/new", {"cwd": self.cwd, "mcpServers": []}, self.timeout, deadline)
        except AgentError as error:
            raise ConnectionFailed(str(error)) from None
        session_id = optional_text(result.get("sessionId"))
        if not session_id:
            raise ConnectionFailed(f"{self.process.name} opened a session without an id")
        return session_id

    def _load(self, session_id: str, deadline: Deadline) -> str:
        """Loads `session_id`; the agent replays its history, which is let go: it is no new turn's."""
        if not self.capabilities.get("loadSession"):
            raise TurnFailed(f"{self.process.name} cannot load a session (it does not offer session/load), so "
                             f"session {session_id} cannot be continued: start a new one", setting="session_id")
        self.connection.call("session/load", {"sessionId": session_id, "cwd": self.cwd, "mcpServers": []},
                             self.timeout, deadline)
        limit = deadline if deadline.cuts(REPLAY_LIMIT_SECONDS) else Deadline(REPLAY_LIMIT_SECONDS)
        self.connection.settle(REPLAY_QUIET_SECONDS, limit)
        return session_id
