"""The WebSocket transport: ws://, wss:// and WebSocket over a unix socket.

The connection is made and sent on by plain_websocket (the standard library only) for ws://
and unix sockets, by websocket-client for wss:// (TLS) and for ws:// through an HTTP proxy
(`http_proxy` set). Frames are read here. The socket is read in large chunks and small frames
are cut from them, so a stream of many short messages costs one system call per chunk rather
than two or three per frame. A frame longer than a chunk is read straight into one buffer of
its announced size: a 10 MB message costs one copy on the way in instead of four
(websocket-client gathers 16 KiB pieces and joins them), which matters for peak memory and CPU
on long answers. Each read is one call of `read_available`, which keeps what it has read until
it makes whole frames, so the thread that waits for a message can read for itself, up to its
deadline.
"""
from __future__ import annotations

import os
import socket
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type, Union

from agent_bridge.outcome import BadArguments, ClientError, ConnectionFailed, ParseError, TimedOut
from .plain_websocket import HandshakeFailed, HandshakeRefused, connect_tcp, open_plain
from .transport import NothingListening, reason_of

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
KNOWN_OPCODES = {CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG}
MAX_MESSAGE_BYTES = 1 << 30     # far above any real message; a bigger announcement is a broken peer
READ_SIZE = 1 << 20             # bytes asked of the socket per read of a long frame
CHUNK_SIZE = 1 << 18            # bytes read ahead at a time: a frame of a 64 KiB delta and those after it


class WebSocketTransport:
    def __init__(self, uri: str, headers: Iterable[str] = (), connect_timeout: Optional[float] = None,
                 ca_file: Optional[str] = None, unix_path: Optional[str] = None) -> None:
        self.uri = uri
        self.headers = list(headers)
        self.connect_timeout = connect_timeout
        self.ca_file = ca_file
        self.unix_path = unix_path
        self.socket: Any = None          # the sending half (PlainWebSocket or websocket-client's WebSocket)
        self.send_errors: Tuple[Type[BaseException], ...] = (OSError,)   # what its methods may raise
        self.stream: Any = None          # its underlying socket, read by `read_available`
        self.read_ahead = bytearray()   # bytes read from the socket, not yet cut into frames
        self.chunk = bytearray(CHUNK_SIZE)   # what each read fills: one buffer, not a new one a read
        self.long_frame: Optional[LongFrame] = None          # a LongFrame being read
        self.fragments: Optional[Tuple[int, bytearray]] = None   # (opcode, payload so far) of a fragmented message
        self.broken: Optional[ClientError] = None   # what ended the stream, raised by the read after its last messages

    def connect(self) -> None:
        if self.unix_path:
            self.socket = self._handshake(self._unix_socket(), "localhost", "/")
        elif self.uri.startswith("ws://") and not (os.environ.get("http_proxy") or os.environ.get("HTTP_PROXY")):
            self.socket = self._connect_plain()
        else:
            self.socket, self.send_errors = _connect_with_library(self.uri, self.headers, self.connect_timeout,
                                                                  self.ca_file)
        self.stream = self.socket.sock

    def _connect_plain(self) -> Any:
        from urllib.parse import urlsplit   # only a ws:// address needs it
        try:
            parts = urlsplit(self.uri)
            host, port = parts.hostname, parts.port or 80
        except ValueError as error:
            raise BadArguments(f"{self.uri} is not a valid address: {error}", setting="uri") from None
        if not host:
            raise BadArguments(f"{self.uri} names no host", setting="uri")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            sock = connect_tcp(host, port, self.connect_timeout)
        except socket.timeout:
            raise _timed_out(self.uri, self.connect_timeout) from None
        except ConnectionRefusedError as error:
            raise NothingListening(f"cannot connect to {self.uri}: {reason_of(error)}") from None
        except OSError as error:
            raise ConnectionFailed(f"cannot connect to {self.uri}: {reason_of(error)}") from None
        return self._handshake(sock, parts.netloc.rpartition("@")[2], path)

    def _handshake(self, sock: socket.socket, host: str, path: str) -> Any:
        """The opening handshake on a connected socket (closed if it fails), with the connect timeout."""
        try:
            connection = open_plain(sock, host, path, self.headers)
        except HandshakeRefused as error:
            sock.close()
            raise _refused(self.uri, error.status, self.headers) from None
        except socket.timeout:
            sock.close()
            raise _timed_out(self.uri, self.connect_timeout) from None
        except (HandshakeFailed, OSError) as error:
            sock.close()
            raise ConnectionFailed(f"cannot connect to {self.uri}: {reason_of(error)}") from None
        sock.settimeout(None)
        self.read_ahead += connection.read_ahead
        return connection

    def _unix_socket(self) -> socket.socket:
        # A socket address holds about 100 bytes, and CODEX_HOME can be deeper than that: the
        # daemon's socket there is a link to a short path, so connect to where the link points.
        path = os.path.realpath(self.unix_path or "")
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

    def send(self, text: str) -> None:
        self._send_with(self.socket.send, text)

    def _send_with(self, send: Any, data: Any) -> None:
        try:
            send(data)
        except self.send_errors as error:
            raise ConnectionFailed(f"lost the connection to {self.uri}: {reason_of(error)}") from None

    def fileno(self) -> Optional[int]:
        """What select can wait on before `read_available`; None for TLS, whose decrypted bytes
        may wait inside the TLS layer where select does not see them."""
        return None if self.uri.startswith("wss://") else self.stream.fileno()

    def has_more(self) -> bool:
        return self.broken is not None

    def read_available(self) -> List[Any]:
        """One read of the socket, blocking until it returns: the texts of the messages it completed
        (a ParseError in place of one that is not text), maybe none. Everything read is kept until
        it makes whole frames, so reading may stop between any two calls."""
        if self.broken is not None:
            raise self.broken
        try:
            if self.long_frame is not None:
                self._fill_long_frame()
            else:
                count = self.stream.recv_into(self.chunk)
                if not count:
                    raise ConnectionFailed(f"{self.uri} closed the connection")
                with memoryview(self.chunk) as view:
                    self.read_ahead += view[:count]
        except OSError as error:
            raise ConnectionFailed(f"lost the connection to {self.uri}: {reason_of(error)}") from None
        texts: List[Any] = []
        try:
            if self.long_frame is not None and self.long_frame.full():
                frame, self.long_frame = self.long_frame, None
                self._take_frame(frame.final, frame.opcode, frame.payload, texts)
            self._cut_frames(texts)
        except ClientError as error:
            # A broken frame or a close ends the stream, after the messages that came before it.
            self.broken = error
            if not texts:
                raise self.broken from None
        return texts

    def _cut_frames(self, texts: List[Any]) -> None:
        """Takes every whole frame the bytes read ahead hold, from the front. A frame longer than a
        chunk becomes `long_frame`, read straight into one buffer of its announced size: a 10 MB
        message costs one copy on the way in."""
        buffered = self.read_ahead
        while len(buffered) >= 2:
            first, second = buffered[0], buffered[1]
            opcode, length, header = first & 0x0F, second & 0x7F, 2
            if first & 0x70 or second & 0x80 or opcode not in KNOWN_OPCODES:
                raise ParseError(f"the server sent a malformed WebSocket frame (header {first:#04x} {second:#04x})")
            if length >= 126:
                header = 4 if length == 126 else 10
                if len(buffered) < header:
                    return
                length = int.from_bytes(buffered[2:header], "big")
            received = len(self.fragments[1]) if self.fragments else 0
            if received + length > MAX_MESSAGE_BYTES:
                raise ParseError(f"the server announced a message of {received + length} bytes, "
                                 f"over the limit of {MAX_MESSAGE_BYTES}")
            final, end = bool(first & 0x80), header + length
            if len(buffered) < end:
                if length > CHUNK_SIZE:
                    self.long_frame = LongFrame(final, opcode, length, buffered, header)
                    buffered.clear()
                return
            payload = buffered[header:end]
            del buffered[:end]    # cheap: a bytearray drops its front by moving its start
            if first == 0x80 | TEXT:   # a whole message in one frame, as nearly all are
                texts.append(_message_text(TEXT, payload))
            else:
                self._take_frame(final, opcode, payload, texts)

    def _take_frame(self, final: bool, opcode: int, payload: bytearray, texts: List[Any]) -> None:
        """Adds a whole message's text to `texts`, joins fragments, answers pings."""
        if opcode == PING:
            self._send_with(self.socket.pong, bytes(payload))
        elif opcode == CLOSE:
            raise ConnectionFailed(f"{self.uri} closed the connection")
        elif opcode != PONG:   # a data frame
            if (opcode == CONTINUATION) != (self.fragments is not None):
                raise ParseError("the server sent a message fragment out of order")
            if self.fragments is None and final:
                texts.append(_message_text(opcode, payload))
                return
            if self.fragments is None:
                self.fragments = (opcode, bytearray(payload))
            else:
                self.fragments[1].extend(payload)
            if final:
                opcode, payload = self.fragments
                self.fragments = None
                texts.append(_message_text(opcode, payload))

    def _fill_long_frame(self) -> None:
        frame = self.long_frame
        assert frame is not None
        with memoryview(frame.payload) as view:
            count = self.stream.recv_into(view[frame.filled:], min(len(frame.payload) - frame.filled, READ_SIZE))
        if count == 0:
            raise ConnectionFailed(f"{self.uri} closed the connection")
        frame.filled += count

    def close(self) -> None:
        """Says goodbye and closes at once; a read still waiting (on a reading thread) ends with the socket."""
        if self.socket is not None:
            try:
                self.socket.send_close()
            except self.send_errors:
                pass
            self.socket.shutdown()
            self.socket = None


class LongFrame:
    """A frame longer than a chunk, read straight into a buffer of its size."""

    def __init__(self, final: bool, opcode: int, length: int, buffered: bytearray, start: int) -> None:
        """`buffered[start:]`: the beginning of its payload, already read."""
        self.final, self.opcode = final, opcode
        self.payload = bytearray(length)
        self.filled = len(buffered) - start
        with memoryview(buffered) as view:
            self.payload[:self.filled] = view[start:]

    def full(self) -> bool:
        return self.filled == len(self.payload)


def _connect_with_library(uri: str, headers: List[str], connect_timeout: Optional[float],
                          ca_file: Optional[str]) -> Tuple[Any, Tuple[Type[BaseException], ...]]:
    """websocket-client's connection (for TLS and proxies) and the errors its methods may raise."""
    import ssl
    try:
        import websocket
    except ImportError as error:
        if error.name != "websocket":
            raise
        raise BadArguments("the Python package websocket-client is missing (needed for wss:// and HTTP proxies); "
                           "install it with: python3 -m pip install websocket-client") from None
    options: Dict[str, Any] = {}
    if uri.startswith("wss://"):
        options["sslopt"] = {"context": ssl.create_default_context(cafile=ca_file)}
    try:
        connection = websocket.create_connection(
            uri, timeout=connect_timeout, header=headers,
            # app-server answers 403 to any handshake that carries an Origin header.
            suppress_origin=True,
            # Pure-Python UTF-8 checks cost ~1 s of CPU per 2 MB; json.loads rejects bad text anyway.
            skip_utf8_validation=True, enable_multithread=True, **options)
    except websocket.WebSocketBadStatusException as error:
        raise _refused(uri, error.status_code, headers) from None
    except (socket.timeout, websocket.WebSocketTimeoutException):
        raise _timed_out(uri, connect_timeout) from None
    except ssl.SSLError as error:
        raise ConnectionFailed(f"TLS with {uri} failed: {error.reason or error}") from None
    except (ConnectionRefusedError, FileNotFoundError) as error:
        raise NothingListening(f"cannot connect to {uri}: {reason_of(error)}") from None
    except (OSError, websocket.WebSocketException) as error:
        raise ConnectionFailed(f"cannot connect to {uri}: {reason_of(error)}") from None
    connection.settimeout(None)
    return connection, (OSError, websocket.WebSocketException)


def _timed_out(uri: str, connect_timeout: Optional[float]) -> TimedOut:
    return TimedOut(f"no answer from {uri} within {connect_timeout:g}s", setting="connect_timeout")


def _message_text(opcode: int, payload: bytearray) -> Union[str, ParseError]:
    """A message's text, or the ParseError that takes its place."""
    if opcode != TEXT:
        return ParseError(f"the server sent a binary frame of {len(payload)} bytes; only JSON text is expected")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return ParseError("the server sent a text frame that is not UTF-8")


def _refused(uri: str, status: int, headers: List[str]) -> ConnectionFailed:
    if status == 401:
        if any(h.lower().startswith("authorization:") for h in headers):
            return ConnectionFailed(f"{uri} refused the WebSocket handshake with HTTP 401: the token was refused",
                                    setting="token")
        return ConnectionFailed(f"{uri} refused the WebSocket handshake with HTTP 401: it needs a bearer token",
                                way_out="token")
    return ConnectionFailed(f"{uri} refused the WebSocket handshake: HTTP {status}")
