"""codex_client: a client for `codex app-server` (library and CLI). See references/library.md."""
from .approvals import Answer, ApprovalPolicy
from .client import CodexClient, ThreadOptions, TurnOptions
from .session import Session
from .turn import TurnHandle
from agent_bridge.outcome import (BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted, ParseError,
                                  PeerExited, TimedOut, TurnFailed)
from agent_bridge.trace import Tracer

__all__ = ["Answer", "ApprovalPolicy", "BadArguments", "ClientError", "CodexClient", "ConnectionFailed",
           "Envelope", "Interrupted", "ParseError", "PeerExited", "Session", "ThreadOptions", "TimedOut", "Tracer",
           "TurnFailed", "TurnHandle", "TurnOptions"]
