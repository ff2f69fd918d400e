"""Connections to `codex app-server`: WebSocket (ws, wss, unix socket) or a private stdio process.

A transport moves whole JSON-RPC messages as text; an `Inbox` (inbox.py) reads
them on a background thread. The WebSocket transport (websocket_transport.py) is
loaded only when a WebSocket is opened, so --help and argument errors stay fast
and a stdio:// call works without websocket-client.
"""
import os
import subprocess

from agent_bridge.child import StderrTail, exited, kill_group, own_process_group, read_line
from agent_bridge.outcome import BadArguments, ConnectionFailed, ParseError


class NothingListening(ConnectionFailed):
    """Nobody answers at the address (as opposed to a server that refuses us)."""


def default_control_socket():
    """Where `codex app-server daemon` (or `--listen unix://`) puts its socket."""
    home = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
    return os.path.join(home, "app-server-control", "app-server-control.sock")


def open_transport(uri, headers=(), connect_timeout=None, ca_file=None, codex_bin="codex"):
    """Connects to `uri` (ws://, wss://, unix://[PATH], stdio://) and returns the transport."""
    if uri.startswith("stdio://"):
        transport = StdioTransport(codex_bin)
    elif uri.startswith("unix://"):
        path = uri[len("unix://"):] or default_control_socket()
        transport = _websocket_transport()(uri, headers, connect_timeout, unix_path=path)
    elif uri.startswith(("ws://", "wss://")):
        transport = _websocket_transport()(uri, headers, connect_timeout, ca_file=ca_file)
    else:
        raise BadArguments(f"{uri} is not ws://, wss://, unix://[PATH] or stdio://", setting="uri")
    transport.connect()
    return transport


def _websocket_transport():
    try:
        from .websocket_transport import WebSocketTransport
    except ImportError as error:
        if error.name != "websocket":
            raise
        raise BadArguments("the Python package websocket-client is missing; "
                           "install it with: python3 -m pip install websocket-client") from None
    return WebSocketTransport


class StdioTransport:
    """A private `codex app-server --listen stdio://` for this call only: JSON lines on its pipes."""

    def __init__(self, codex_bin):
        self.codex_bin = codex_bin
        self.process = None
        self.stderr_tail = None
        self.uri = "stdio://"

    def connect(self):
        try:
            self.process = subprocess.Popen(
                [self.codex_bin, "app-server", "--listen", "stdio://"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **own_process_group())
        except OSError as error:
            raise ConnectionFailed(f"cannot start {self.codex_bin} app-server: {reason_of(error)}") from None
        self.stderr_tail = StderrTail(self.process.stderr)

    def send(self, text):
        try:
            self.process.stdin.write(text.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except OSError as error:
            try:
                self.process.wait(2)   # a server that closed its input is usually exiting: say how and why
            except subprocess.TimeoutExpired:
                raise ConnectionFailed(f"lost the stdio app-server: {reason_of(error)}") from None
            raise exited(self.process, self.stderr_tail, "the stdio app-server") from None

    def receive(self):
        line = read_line(self.process.stdout, "the stdio app-server")
        if not line:
            raise exited(self.process, self.stderr_tail, "the stdio app-server")
        try:
            return line.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError:
            raise ParseError("the stdio app-server printed a line that is not UTF-8") from None

    def close(self):
        if self.process is None:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass   # a server that stopped reading: what was left unsent is lost anyway
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            kill_group(self.process)   # what it started too
            self.process.wait()
        # Only now: closing stdout blocks while the reader thread waits on it for a server still running.
        self.process.stdout.close()
        self.process = None


def reason_of(error):
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
