"""codex_client: a client for `codex app-server`; its command line is the `cli` subpackage. See references/library.md."""
import agent_bridge
agent_bridge.check_core_beside(__file__)   # before anything of it is used
from .approvals import APPROVE_CHOICES, Answer, ApprovalPolicy
from .client import CodexClient, ThreadBusy, ThreadOptions, TurnOptions
from .session import Session
from .turn import TurnHandle
from agent_bridge.outcome import (BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted, ParseError,
                                  PeerExited, TimedOut, TurnFailed)
from agent_bridge.trace import Tracer

__all__ = ["APPROVE_CHOICES", "Answer", "ApprovalPolicy", "BadArguments", "ClientError", "CodexClient",
           "ConnectionFailed", "Envelope", "Interrupted", "ParseError", "PeerExited", "Session", "ThreadBusy",
           "ThreadOptions", "TimedOut", "Tracer", "TurnFailed", "TurnHandle", "TurnOptions"]
