"""A council's seats: `--seat SPEC` read into a SeatSpec, and a Seat that runs one turn at a time on
its own client Session (codex: a thread on its own connection; claude: its own process; an ACP agent:
its own process, through acp-client).

SPEC is an agent, then options after a colon: `codex`, `codex:model=M,effort=E`, `claude:model=M`,
`gemini:model=M` (`gemini --acp`), or `acp:command=CMD ARGS` (any ACP agent: the rest of SPEC is its
command line, split as a shell would).
"""
from __future__ import annotations

import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import claude_client
import codex_client
from agent_bridge.deadline import Deadline
from agent_bridge.outcome import BadArguments, ConnectionFailed

from .clients import ClientsMissing, load_acp_client

SEAT_OPTIONS = {"codex": ("model", "effort"), "claude": ("model", "effort"), "gemini": ("model",), "acp": ("command",)}
AGENTS = tuple(SEAT_OPTIONS)
ACP_AGENTS = ("gemini", "acp")
MIN_SEATS, MAX_SEATS = 2, 6
# --approve for a Claude seat: the tools that do what Codex would ask approval for, allowed without asking.
CLAUDE_TOOLS_APPROVED = {"commands": ("Bash",), "file-changes": ("Edit", "Write", "MultiEdit", "NotebookEdit"),
                         "permissions": ()}
CLAUDE_TOOLS_APPROVED["all"] = CLAUDE_TOOLS_APPROVED["commands"] + CLAUDE_TOOLS_APPROVED["file-changes"]
# --approve for an ACP seat: acp-client's kinds of the same names; Codex's `permissions` has no ACP kind.
ACP_APPROVE_KINDS = {"commands": ("commands",), "file-changes": ("file-changes",), "permissions": (), "all": ("all",)}
# With --spawn or without --uri, codex seats connect one at a time: the first starts the server (or
# the daemon), the others find it, and its first-start notice is written once.
CODEX_START_LOCK = threading.Lock()


@dataclass(frozen=True)
class SeatSpec:
    agent: str
    model: Optional[str] = None
    effort: Optional[str] = None
    command: Optional[str] = None   # an acp seat's command line

    def __str__(self) -> str:
        options = ",".join(f"{name}={getattr(self, name)}" for name in SEAT_OPTIONS[self.agent] if getattr(self, name))
        return f"{self.agent}:{options}" if options else self.agent


def parse_seat(text: str) -> SeatSpec:
    """SeatSpec of `--seat text`; BadArguments naming what is wrong."""
    agent, _, rest = text.strip().partition(":")
    if agent not in AGENTS:
        raise BadArguments(f"--seat {text}: the agent is one of {', '.join(AGENTS)}, e.g. codex:model=gpt-5")
    if agent == "acp":
        return SeatSpec(agent, command=_acp_command(text, rest))
    allowed = SEAT_OPTIONS[agent]
    options: Dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in rest.split(","))):
        name, equals, value = (part.strip() for part in pair.partition("="))
        if name not in allowed or not equals or not value:
            raise BadArguments(f"--seat {text}: {pair!r} is not one of {', '.join(o + '=VALUE' for o in allowed)}")
        if name in options:
            raise BadArguments(f"--seat {text}: {name} given twice")
        options[name] = value
    return SeatSpec(agent, **options)


def _acp_command(text: str, rest: str) -> str:
    """The command line of `acp:command=CMD ARGS` (all of it after `command=`, commas too)."""
    name, equals, command = rest.partition("=")
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise BadArguments(f"--seat {text}: the command cannot be split as a shell would: {error}") from None
    if name.strip() != "command" or not equals or not words:
        raise BadArguments(f"--seat {text}: an acp seat is acp:command=CMD ARGS, e.g. acp:command=codex-acp")
    return command.strip()


def parse_seats(texts: List[str]) -> List[SeatSpec]:
    if not MIN_SEATS <= len(texts) <= MAX_SEATS:
        raise BadArguments(f"a council has {MIN_SEATS} to {MAX_SEATS} seats: {len(texts)} --seat given")
    return [parse_seat(text) for text in texts]


@dataclass(frozen=True)
class Reach:
    """How every seat reaches its agent (the same for all seats of an agent). codex: uri (None: the
    default server or the daemon), token, spawn, codex_bin, connect_timeout; claude: claude_bin,
    allowed_tools, keep_warm; all: cwd, timeout (a peer's longest silence), approve (kinds, as
    codex_client.APPROVE_CHOICES names them; a Claude seat gets the tools of CLAUDE_TOOLS_APPROVED, an
    ACP seat acp-client's kinds of ACP_APPROVE_KINDS)."""
    cwd: Optional[str] = None
    timeout: float = 300.0
    uri: Optional[str] = None
    token: Optional[str] = None
    spawn: bool = False
    codex_bin: str = "codex"
    connect_timeout: float = 10.0
    approve: List[str] = field(default_factory=list)
    claude_bin: str = "claude"
    allowed_tools: List[str] = field(default_factory=list)
    keep_warm: Optional[float] = None


def failed_envelope(status: str, exit_code: int, error: str) -> Dict[str, Any]:
    return {"status": status, "exit_code": exit_code, "text": "", "error": error}


class Seat:
    """One seat: `ask(prompt, deadline)` -> the client's envelope dict (errors in it, never raised),
    `interrupt()` from another thread, `close()`. `conversation_id` resumes its thread (codex) or
    session (claude, an ACP agent); `conversation_id` afterwards is the one it answered on."""

    def __init__(self, number: int, spec: SeatSpec, reach: Reach, conversation_id: Optional[str] = None) -> None:
        self.number = number
        self.spec = spec
        self.reach = reach
        self.conversation_id = conversation_id
        self.package = client_of(spec)
        self.session: Any = None
        self.turn: Any = None
        self.stopping = threading.Event()

    def ask(self, prompt: str, deadline: Deadline) -> Dict[str, Any]:
        """One turn, ending as a timeout at `deadline` (the council's); starting claude or an ACP agent too."""
        started = time.monotonic()
        try:
            if self.session is None:
                self.session = self._open(deadline)
            if self.stopping.is_set():
                raise self.package.Interrupted("interrupted before the turn started")
            self.turn = self._start(prompt)
            if self.stopping.is_set():   # interrupt() came while the turn was starting
                self.turn.interrupt()
            envelope = self.turn.result(max_time=deadline.remaining()).to_dict()
        except self.package.ClientError as error:
            envelope = failed_envelope(error.status, error.exit_code, str(error))
        envelope["elapsed_ms"] = int((time.monotonic() - started) * 1000)
        self.conversation_id = envelope.get(self._id_field) or self.conversation_id
        return envelope

    def interrupt(self) -> None:
        self.stopping.set()
        turn = self.turn
        if turn is not None and not turn.finished:
            try:
                turn.interrupt()
            except self.package.ClientError:
                pass

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    @property
    def _id_field(self) -> str:
        return "thread_id" if self.spec.agent == "codex" else "session_id"

    def _open(self, deadline: Deadline) -> Any:
        if self.spec.agent == "codex":
            return self._open_codex(deadline)
        if self.spec.agent == "claude":
            return self._open_claude(deadline)
        return self._open_acp(deadline)

    def _start(self, prompt: str) -> Any:
        if self.spec.agent == "codex":
            return self.session.start(prompt, effort=self.spec.effort)
        return self.session.start(prompt)

    def _open_codex(self, deadline: Deadline) -> Any:
        codex, reach = self.package, self.reach
        approve = set().union(*(codex.APPROVE_CHOICES[kind] for kind in reach.approve))
        if reach.spawn or reach.uri is None:
            with CODEX_START_LOCK:
                return self._codex_session(approve, deadline)
        return self._codex_session(approve, deadline)

    def _codex_session(self, approve: set, deadline: Deadline) -> Any:
        codex, reach = self.package, self.reach
        return codex.Session(reach.uri, thread_id=self.conversation_id, cwd=reach.cwd, model=self.spec.model,
                             spawn=reach.spawn, token=reach.token, connect_timeout=reach.connect_timeout,
                             codex_bin=reach.codex_bin, timeout=reach.timeout, deadline=deadline,
                             on_server_request=codex.ApprovalPolicy(approve=approve))

    def _open_claude(self, deadline: Deadline) -> Any:
        reach = self.reach
        return self.package.Session(reach.claude_bin, cwd=reach.cwd, session_id=self.conversation_id,
                                    timeout=reach.timeout, resume_timeout=reach.timeout, keep_warm=reach.keep_warm,
                                    model=self.spec.model, effort=self.spec.effort,
                                    allowed_tools=self._claude_tools(), deadline=deadline)

    def _claude_tools(self) -> List[str]:
        """--allowed-tools, then the tools --approve allows."""
        approved = [tool for kind in self.reach.approve for tool in CLAUDE_TOOLS_APPROVED[kind]]
        return list(dict.fromkeys([*self.reach.allowed_tools, *approved]))

    def _open_acp(self, deadline: Deadline) -> Any:
        acp = self.package
        kinds = [acp_kind for kind in self.reach.approve for acp_kind in ACP_APPROVE_KINDS[kind]]
        policy = acp.PermissionPolicy(approve=set().union(*(acp.APPROVE_CHOICES[kind] for kind in kinds)))
        command = (acp.gemini_command(model=self.spec.model) if self.spec.agent == "gemini"
                   else shlex.split(self.spec.command or ""))
        return acp.Session(command, cwd=self.reach.cwd, session_id=self.conversation_id, timeout=self.reach.timeout,
                           policy=policy, deadline=deadline)


def client_of(spec: SeatSpec) -> Any:
    """The client package a seat of `spec` runs through; ConnectionFailed (exit 3) when its skill is missing."""
    if spec.agent not in ACP_AGENTS:
        return codex_client if spec.agent == "codex" else claude_client
    try:
        return load_acp_client()
    except ClientsMissing as missing:
        raise ConnectionFailed(f"--seat {spec}: {missing}") from None
