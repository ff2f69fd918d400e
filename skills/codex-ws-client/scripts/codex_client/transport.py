"""Connections to `codex app-server`: WebSocket (ws, wss, unix socket) or a private stdio process.

A transport moves whole JSON-RPC messages as text; an `Inbox` (inbox.py) reads
them on a background thread.
"""
import os
import socket
import ssl
import subprocess

import websocket

from .outcome import BadArguments, ConnectionFailed, ParseError, TimedOut


class NothingListening(ConnectionFailed):
    """Nobody answers at the address (as opposed to a server that refuses us)."""


def default_control_socket():
    """Where `codex app-server daemon` (or `--listen unix://`) puts its socket."""
    home = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
    return os.path.join(home, "app-server-control", "app-server-control.sock")


def open_transport(uri, headers=(), connect_timeout=None, ca_file=None, codex_bin="codex", stderr=None):
    """Connects to `uri` (ws://, wss://, unix://[PATH], stdio://) and returns the transport."""
    if uri.startswith("stdio://"):
        transport = StdioTransport(codex_bin, stderr)
    elif uri.startswith("unix://"):
        path = uri[len("unix://"):] or default_control_socket()
        transport = WebSocketTransport(uri, headers, connect_timeout, unix_path=path)
    elif uri.startswith(("ws://", "wss://")):
        transport = WebSocketTransport(uri, headers, connect_timeout, ca_file=ca_file)
    else:
        raise BadArguments(f"--uri {uri} is not ws://, wss://, unix://[PATH] or stdio://")
    transport.connect()
    return transport


class WebSocketTransport:
    def __init__(self, uri, headers=(), connect_timeout=None, ca_file=None, unix_path=None):
        self.uri = uri
        self.headers = list(headers)
        self.connect_timeout = connect_timeout
        self.ca_file = ca_file
        self.unix_path = unix_path
        self.socket = None

    def connect(self):
        url, options = self.uri, {}
        if self.unix_path:
            url, options["socket"] = "ws://localhost/", self._unix_socket()
        elif self.uri.startswith("wss://"):
            context = ssl.create_default_context(cafile=self.ca_file)
            options["sslopt"] = {"context": context}
        try:
            self.socket = websocket.create_connection(
                url, timeout=self.connect_timeout, header=self.headers,
                # app-server answers 403 to any handshake that carries an Origin header.
                suppress_origin=True,
                # Pure-Python UTF-8 checks cost ~1 s of CPU per 2 MB; json.loads rejects bad text anyway.
                skip_utf8_validation=True, enable_multithread=True, **options)
        except websocket.WebSocketBadStatusException as error:
            raise _refused(self.uri, error.status_code, self.headers) from None
        except (socket.timeout, websocket.WebSocketTimeoutException):
            raise TimedOut(f"no answer from {self.uri} within --connect-timeout {self.connect_timeout:g}s") from None
        except ssl.SSLError as error:
            raise ConnectionFailed(f"TLS with {self.uri} failed: {error.reason or error}") from None
        except (ConnectionRefusedError, FileNotFoundError) as error:
            raise NothingListening(f"cannot connect to {self.uri}: {_reason(error)}") from None
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"cannot connect to {self.uri}: {_reason(error)}") from None
        self.socket.settimeout(None)

    def _unix_socket(self):
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.settimeout(self.connect_timeout)
        try:
            unix.connect(self.unix_path)
        except (ConnectionRefusedError, FileNotFoundError) as error:
            unix.close()
            raise NothingListening(f"cannot connect to {self.unix_path}: {_reason(error)}") from None
        except OSError as error:
            unix.close()
            raise ConnectionFailed(f"cannot connect to {self.unix_path}: {_reason(error)}") from None
        return unix

    def send(self, text):
        try:
            self.socket.send(text)
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"lost the connection to {self.uri}: {_reason(error)}") from None

    def receive(self):
        """Blocks for the next text message."""
        try:
            opcode, data = self.socket.recv_data()
        except websocket.WebSocketConnectionClosedException:
            raise ConnectionFailed(f"{self.uri} closed the connection") from None
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"lost the connection to {self.uri}: {_reason(error)}") from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise ConnectionFailed(f"{self.uri} closed the connection")
        if opcode != websocket.ABNF.OPCODE_TEXT:
            raise ParseError(f"the server sent a binary frame of {len(data)} bytes; only JSON text is expected")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("the server sent a text frame that is not UTF-8") from None

    def close(self):
        """Says goodbye and closes at once; the reader thread's pending read ends with the socket."""
        if self.socket is not None:
            try:
                self.socket.send_close()
            except (OSError, websocket.WebSocketException):
                pass
            self.socket.shutdown()
            self.socket = None


class StdioTransport:
    """A private `codex app-server --listen stdio://` for this call only: JSON lines on its pipes."""

    def __init__(self, codex_bin, stderr=None):
        self.codex_bin = codex_bin
        self.stderr = stderr
        self.process = None
        self.uri = "stdio://"

    def connect(self):
        try:
            self.process = subprocess.Popen(
                [self.codex_bin, "app-server", "--listen", "stdio://"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr or subprocess.DEVNULL,
                start_new_session=True)
        except OSError as error:
            raise ConnectionFailed(f"cannot start {self.codex_bin} app-server: {_reason(error)}") from None

    def send(self, text):
        try:
            self.process.stdin.write(text.encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except OSError as error:
            raise ConnectionFailed(f"lost the stdio app-server: {_reason(error)}") from None

    def receive(self):
        line = self.process.stdout.readline()
        if not line:
            raise ConnectionFailed(f"the stdio app-server exited (code {self.process.wait()})")
        try:
            return line.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError:
            raise ParseError("the stdio app-server printed a line that is not UTF-8") from None

    def close(self):
        if self.process is None:
            return
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _refused(uri, status, headers):
    if status == 401:
        sent_token = any(h.lower().startswith("authorization:") for h in headers)
        reason = "the token was refused" if sent_token else "it needs a token (--token-file or CODEX_APP_SERVER_TOKEN)"
        return ConnectionFailed(f"{uri} refused the WebSocket handshake with HTTP 401: {reason}")
    return ConnectionFailed(f"{uri} refused the WebSocket handshake: HTTP {status}")


def _reason(error):
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
