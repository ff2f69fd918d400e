"""The WebSocket connection to `codex app-server`: frames in, frames out, nothing else."""
import socket

import websocket

from .outcome import ConnectionFailed, ParseError, TimedOut


class WebSocketTransport:
    def __init__(self, uri, headers=(), connect_timeout=None):
        self.uri = uri
        self.headers = list(headers)
        self.connect_timeout = connect_timeout
        self.socket = None
        self._timeout = None

    def connect(self):
        try:
            self.socket = websocket.create_connection(
                self.uri,
                timeout=self.connect_timeout,
                header=self.headers,
                # app-server answers 403 to any handshake that carries an Origin header.
                suppress_origin=True,
                # Pure-Python UTF-8 checks cost ~1 s of CPU per 2 MB; json.loads rejects bad text anyway.
                skip_utf8_validation=True,
            )
        except websocket.WebSocketBadStatusException as error:
            raise ConnectionFailed(f"{self.uri} refused the WebSocket handshake: HTTP {error.status_code}") from None
        except (socket.timeout, websocket.WebSocketTimeoutException):
            raise TimedOut(f"no answer from {self.uri} within --connect-timeout {self.connect_timeout:g}s") from None
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"cannot connect to {self.uri}: {_reason(error)}") from None

    def send(self, text):
        try:
            self.socket.send(text)
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"lost the connection to {self.uri}: {_reason(error)}") from None

    def receive(self, timeout):
        """The next text frame; `timeout` seconds (None: forever) before TimedOut."""
        if timeout != self._timeout:
            self.socket.settimeout(timeout)
            self._timeout = timeout
        try:
            opcode, data = self.socket.recv_data()
        except (socket.timeout, websocket.WebSocketTimeoutException):
            raise TimedOut(f"no message from the server for {timeout:g}s (--timeout)") from None
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
        if self.socket is not None:
            try:
                self.socket.close(timeout=1)
            except (OSError, websocket.WebSocketException):
                pass
            self.socket = None


def _reason(error):
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
