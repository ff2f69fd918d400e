"""The WebSocket transport: ws://, wss:// and WebSocket over a unix socket.

websocket-client makes the connection (handshake, TLS, proxies) and sends; frames are read
here. The socket is read in large chunks and small frames are cut from them, so a stream of
many short messages costs one system call per chunk rather than two or three per frame. A
frame longer than what is buffered is read straight into one buffer of its announced size: a
10 MB message costs one copy on the way in instead of four (websocket-client gathers 16 KiB
pieces and joins them), which matters for peak memory and CPU on long answers.
"""
import os
import socket
import ssl

import websocket

from agent_bridge.outcome import ConnectionFailed, ParseError, TimedOut
from .transport import NothingListening, reason_of

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
KNOWN_OPCODES = {CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG}
MAX_MESSAGE_BYTES = 1 << 30     # far above any real message; a bigger announcement is a broken peer
READ_SIZE = 1 << 20             # bytes asked of the socket per read of a long frame
CHUNK_SIZE = 1 << 16            # bytes read ahead at a time for short frames


class WebSocketTransport:
    def __init__(self, uri, headers=(), connect_timeout=None, ca_file=None, unix_path=None):
        self.uri = uri
        self.headers = list(headers)
        self.connect_timeout = connect_timeout
        self.ca_file = ca_file
        self.unix_path = unix_path
        self.socket = None          # websocket-client's WebSocket, for sending and closing
        self.stream = None          # its underlying socket, read by `receive`
        self.read_ahead = bytearray()   # bytes read from the socket, not yet cut into frames

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
            raise TimedOut(f"no answer from {self.uri} within {self.connect_timeout:g}s",
                           setting="connect_timeout") from None
        except ssl.SSLError as error:
            raise ConnectionFailed(f"TLS with {self.uri} failed: {error.reason or error}") from None
        except (ConnectionRefusedError, FileNotFoundError) as error:
            raise NothingListening(f"cannot connect to {self.uri}: {reason_of(error)}") from None
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"cannot connect to {self.uri}: {reason_of(error)}") from None
        self.socket.settimeout(None)
        self.stream = self.socket.sock

    def _unix_socket(self):
        # A socket address holds about 100 bytes, and CODEX_HOME can be deeper than that: the
        # daemon's socket there is a link to a short path, so connect to where the link points.
        path = os.path.realpath(self.unix_path)
        if not os.path.exists(path):
            raise NothingListening(f"cannot connect to {self.unix_path}: no such socket")
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.settimeout(self.connect_timeout)
        try:
            unix.connect(path)
        except (ConnectionRefusedError, FileNotFoundError) as error:
            unix.close()
            raise NothingListening(f"cannot connect to {self.unix_path}: {reason_of(error)}") from None
        except OSError as error:
            unix.close()
            raise ConnectionFailed(f"cannot connect to {self.unix_path}: {reason_of(error)}") from None
        return unix

    def send(self, text):
        try:
            self.socket.send(text)
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"lost the connection to {self.uri}: {reason_of(error)}") from None

    def receive(self):
        """Blocks for the next text message."""
        try:
            opcode, data = self._read_message()
        except (OSError, websocket.WebSocketException) as error:
            raise ConnectionFailed(f"lost the connection to {self.uri}: {reason_of(error)}") from None
        if opcode != TEXT:
            raise ParseError(f"the server sent a binary frame of {len(data)} bytes; only JSON text is expected")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("the server sent a text frame that is not UTF-8") from None

    def _read_message(self):
        """(opcode, payload) of the next text or binary message, its fragments joined; pings are answered."""
        opcode, payload = None, None
        while True:
            final, frame_opcode, data = self._read_frame(len(payload or b""))
            if frame_opcode == PING:
                self.socket.pong(bytes(data))
                continue
            if frame_opcode == PONG:
                continue
            if frame_opcode == CLOSE:
                raise ConnectionFailed(f"{self.uri} closed the connection")
            if (frame_opcode == CONTINUATION) != (payload is not None):
                raise ParseError("the server sent a message fragment out of order")
            if payload is None:
                opcode, payload = frame_opcode, data
            else:
                payload += data
            if final:
                return opcode, payload

    def _read_frame(self, received):
        """(final, opcode, payload) of one frame; `received`: bytes of the message before it."""
        first, second = self._take(2)
        opcode = first & 0x0F
        if first & 0x70 or second & 0x80 or opcode not in KNOWN_OPCODES:
            raise ParseError(f"the server sent a malformed WebSocket frame (header {first:#04x} {second:#04x})")
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(self._take(2), "big")
        elif length == 127:
            length = int.from_bytes(self._take(8), "big")
        if received + length > MAX_MESSAGE_BYTES:
            raise ParseError(f"the server announced a message of {received + length} bytes, "
                             f"over the limit of {MAX_MESSAGE_BYTES}")
        return bool(first & 0x80), opcode, self._take(length)

    def _take(self, size):
        """The next `size` bytes of the stream."""
        buffered = self.read_ahead
        while len(buffered) < size < CHUNK_SIZE:
            chunk = self.stream.recv(CHUNK_SIZE)
            if not chunk:
                raise ConnectionFailed(f"{self.uri} closed the connection")
            buffered += chunk
        if len(buffered) >= size:
            data = buffered[:size]
            del buffered[:size]    # cheap: a bytearray drops its front by moving its start
            return data
        return self._take_long(size)

    def _take_long(self, size):
        """The next `size` bytes, more than is buffered: the rest is read straight into the result."""
        data = bytearray(size)
        filled = len(self.read_ahead)
        data[:filled] = self.read_ahead
        self.read_ahead.clear()
        with memoryview(data) as view:
            while filled < size:
                count = self.stream.recv_into(view[filled:], min(size - filled, READ_SIZE))
                if count == 0:
                    raise ConnectionFailed(f"{self.uri} closed the connection")
                filled += count
        return data

    def close(self):
        """Says goodbye and closes at once; the reader thread's pending read ends with the socket."""
        if self.socket is not None:
            try:
                self.socket.send_close()
            except (OSError, websocket.WebSocketException):
                pass
            self.socket.shutdown()
            self.socket = None


def _refused(uri, status, headers):
    if status == 401:
        sent_token = any(h.lower().startswith("authorization:") for h in headers)
        reason = "the token was refused" if sent_token else "it needs a bearer token"
        return ConnectionFailed(f"{uri} refused the WebSocket handshake with HTTP 401: {reason}", setting="token_file")
    return ConnectionFailed(f"{uri} refused the WebSocket handshake: HTTP {status}")
