"""claude_client: a client for the local `claude` CLI in stream-json mode (library and CLI).
See references/library.md."""
from .outcome import (BadArguments, ClientError, ConnectionFailed, Envelope, Interrupted, ParseError,
                      TimedOut, TurnFailed)
from .session import Decision, Session
from .trace import Tracer
from .turn import ClaudeTurn

__all__ = ["BadArguments", "ClaudeTurn", "ClientError", "ConnectionFailed", "Decision", "Envelope", "Interrupted",
           "ParseError", "Session", "TimedOut", "Tracer", "TurnFailed"]
