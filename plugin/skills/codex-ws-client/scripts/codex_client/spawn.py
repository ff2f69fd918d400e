"""Session(spawn=True) (the command line's --spawn): start `codex app-server` in the background when
nothing answers at the URI.

The server outlives this call, so later calls reuse it. It is only ever bound to
loopback or a Unix socket.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import urlsplit

from agent_bridge.outcome import BadArguments, TimedOut
from .transport import NothingListening, cannot_run_codex

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_spawnable(uri: Optional[str]) -> None:
    """Refuses addresses a spawned server must not listen on."""
    if uri and uri.startswith("unix://"):
        return
    parts = urlsplit(uri or "")
    if parts.scheme != "ws" or parts.hostname not in LOOPBACK_HOSTS or not parts.port:
        raise BadArguments(f"a spawned server listens only on ws://127.0.0.1:PORT (loopback, a fixed port) or "
                           f"unix://[PATH], not {uri}", setting="uri")


def connect_or_spawn(connect: Callable[[], Any], uri: str, codex_bin: str, tracer: Any,
                     wait_seconds: Optional[float]) -> Tuple[Any, Optional[Dict[str, Any]]]:
    """Returns (connection, spawned) where spawned describes the server started, or None."""
    try:
        return connect(), None
    except NothingListening:
        pass
    spawned = start_server(uri, codex_bin)
    tracer.warn(f"started codex app-server (pid {spawned['pid']}) listening on {uri}; log: {spawned['log']}")
    seconds = 30.0 if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + seconds
    while True:
        try:
            return connect(), spawned
        except NothingListening:
            if time.monotonic() > deadline:
                raise TimedOut(f"the codex app-server started did not listen on {uri} "
                               f"within {seconds:g}s; see {spawned['log']}") from None
            time.sleep(0.1)


def start_server(uri: str, codex_bin: str) -> Dict[str, Any]:
    log_path = os.path.join(tempfile.gettempdir(), f"codex-app-server-{_slug(uri)}.log")
    command = [codex_bin, "app-server", "--listen", uri]
    try:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       start_new_session=True)
    except OSError as error:
        raise cannot_run_codex(codex_bin, error, "start a server") from None
    return {"pid": process.pid, "uri": uri, "log": log_path}


def _slug(uri: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in uri.split("://", 1)[-1]).strip("-") or "default"
