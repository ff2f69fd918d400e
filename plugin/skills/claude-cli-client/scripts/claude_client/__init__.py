"""claude_client: a client for the local `claude` CLI in stream-json mode (library and CLI).
See references/library.md."""
import agent_bridge
agent_bridge.check_core_beside(__file__)   # before anything of it is used
from agent_bridge.outcome import (BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted, ParseError,
                                  PeerExited, TimedOut, TurnFailed)
from .control import Decision
from .session import Session
from agent_bridge.trace import Tracer
from .turn import ClaudeTurn

__all__ = ["BadArguments", "ClaudeTurn", "ClientError", "ConnectionFailed", "Decision", "Envelope", "Interrupted",
           "ParseError", "PeerExited", "Session", "TimedOut", "Tracer", "TurnFailed"]
