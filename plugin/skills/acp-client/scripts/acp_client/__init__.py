"""acp_client: a client for any Agent Client Protocol agent (Gemini CLI first) over stdio (library
and CLI). See references/library.md."""
import agent_bridge
agent_bridge.check_core_beside(__file__)   # before anything of it is used
from agent_bridge.outcome import (BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted, ParseError,
                                  PeerExited, TimedOut, TurnFailed)
from agent_bridge.trace import Tracer

from .connection import AgentError
from .permissions import APPROVE_CHOICES, PermissionPolicy
from .session import Session, gemini_command
from .turn import AcpTurn

__all__ = ["APPROVE_CHOICES", "AcpTurn", "AgentError", "BadArguments", "ClientError", "ConnectionFailed", "Envelope",
           "Interrupted", "ParseError", "PeerExited", "PermissionPolicy", "Session", "TimedOut", "Tracer", "TurnFailed",
           "gemini_command"]
