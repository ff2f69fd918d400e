"""Connections to `codex app-server`: WebSocket (ws, wss, unix socket) or a private stdio process.

A transport moves whole JSON-RPC messages as text; the connection's `Inbox`
(inbox.py) reads them through `read_available`, on the thread that waits for them.
Each transport is loaded only when it is opened: the WebSocket one
(websocket_transport.py), so --help and argument errors stay fast; the stdio one
(stdio_transport.py), so a WebSocket call does not load subprocess.
websocket-client is needed only for wss:// and HTTP proxies.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Optional

from agent_bridge.outcome import BadArguments, ConnectionFailed


class NothingListening(ConnectionFailed):
    """Nobody answers at the address (as opposed to a server that refuses us)."""


def codex_home() -> str:
    return os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")


def default_control_socket() -> str:
    """Where `codex app-server daemon` (or `--listen unix://`) puts its socket."""
    return os.path.join(codex_home(), "app-server-control", "app-server-control.sock")


def open_transport(uri: str, headers: Iterable[str] = (), connect_timeout: Optional[float] = None,
                   ca_file: Optional[str] = None, codex_bin: str = "codex") -> Any:
    """Connects to `uri` (ws://, wss://, unix://[PATH], stdio://) and returns the transport."""
    if uri.startswith("stdio://"):
        from .stdio_transport import StdioTransport
        transport: Any = StdioTransport(codex_bin)
    elif uri.startswith(("unix://", "ws://", "wss://")):
        from .websocket_transport import WebSocketTransport
        unix_path = (uri[len("unix://"):] or default_control_socket()) if uri.startswith("unix://") else None
        transport = WebSocketTransport(uri, headers, connect_timeout, ca_file=ca_file, unix_path=unix_path)
    else:
        raise BadArguments(f"{uri} is not ws://, wss://, unix://[PATH] or stdio://", setting="uri")
    transport.connect()
    return transport


def reason_of(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def codex_missing(codex_bin: str) -> str:
    return f"{codex_bin} not found: install codex (npm i -g @openai/codex)"


def cannot_run_codex(codex_bin: str, error: OSError, doing: str) -> ConnectionFailed:
    """The ConnectionFailed for an OSError from running codex: a missing codex says how to get it."""
    if isinstance(error, FileNotFoundError):
        return ConnectionFailed(codex_missing(codex_bin))
    return ConnectionFailed(f"cannot {doing} with {codex_bin}: {reason_of(error)}")
