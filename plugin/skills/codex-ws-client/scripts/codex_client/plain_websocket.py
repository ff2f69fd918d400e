"""The client side of a WebSocket connection with the standard library only: the opening handshake
and sending frames, for ws:// without a proxy and for unix sockets (reading frames is
websocket_transport's). Importing websocket-client costs a one-shot call about 40 ms of CPU
(TLS, logging, inspect and more), two thirds of a minimal client's whole start: it is loaded
only for what needs it, wss:// and ws:// through an HTTP proxy.
"""
from __future__ import annotations

import base64
import os
import socket
import threading
from typing import Dict, Iterable, Optional, Tuple

try:   # CPython's own SHA-1: hashlib would load OpenSSL (about 4 MB of memory and 3 ms) for one hash
    from _sha1 import sha1
except ImportError:
    from hashlib import sha1

# RFC 6455: the server proves it speaks WebSocket by hashing the client's key with this.
ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
FINAL_TEXT, FINAL_CLOSE, FINAL_PONG = 0x81, 0x88, 0x8A   # first bytes: FIN bit and opcode
NORMAL_CLOSURE = (1000).to_bytes(2, "big")
MAX_RESPONSE_HEAD = 1 << 16   # bytes of an HTTP answer's status line and headers


class HandshakeRefused(Exception):
    """The server answered the opening handshake with an HTTP status other than 101."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class HandshakeFailed(Exception):
    """The server's answer was not a WebSocket handshake."""


class PlainWebSocket:
    """An open connection: `sock` to read frames from, and the sending half (thread-safe)."""

    def __init__(self, sock: socket.socket, read_ahead: bytes) -> None:
        self.sock = sock
        self.read_ahead = read_ahead    # bytes that came after the handshake's answer: frames
        self._sending = threading.Lock()

    def send(self, text: str) -> None:
        self._send_frame(FINAL_TEXT, text.encode("utf-8"))

    def pong(self, payload: bytes) -> None:
        self._send_frame(FINAL_PONG, payload)

    def send_close(self) -> None:
        self._send_frame(FINAL_CLOSE, NORMAL_CLOSURE)

    def shutdown(self) -> None:
        """Closes at once; a read still waiting on another thread ends with it."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _send_frame(self, first_byte: int, payload: bytes) -> None:
        # A client masks every frame it sends with a new random key (RFC 6455, 5.3).
        length, key = len(payload), os.urandom(4)
        if length < 126:
            head = bytes((first_byte, 0x80 | length))
        elif length < 1 << 16:
            head = bytes((first_byte, 0x80 | 126)) + length.to_bytes(2, "big")
        else:
            head = bytes((first_byte, 0x80 | 127)) + length.to_bytes(8, "big")
        with self._sending:
            self.sock.sendall(head + key + _masked(payload, key))


def open_plain(sock: socket.socket, host: str, path: str, headers: Iterable[str]) -> PlainWebSocket:
    """Does the opening handshake on a connected socket; HandshakeRefused or HandshakeFailed if the
    server does not accept it, OSError (socket.timeout with the socket's timeout) from the socket."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    request = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
               f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *headers]
    sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode("utf-8"))
    status, answer_headers, rest = _read_answer(sock)
    if status != 101:
        raise HandshakeRefused(status)
    expected = base64.b64encode(sha1((key + ACCEPT_GUID).encode("ascii")).digest()).decode("ascii")
    if (answer_headers.get("upgrade", "").lower() != "websocket"
            or "upgrade" not in answer_headers.get("connection", "").lower()
            or answer_headers.get("sec-websocket-accept") != expected):
        raise HandshakeFailed("the server's answer to the WebSocket handshake is not a valid upgrade")
    return PlainWebSocket(sock, rest)


def connect_tcp(host: str, port: int, timeout: Optional[float]) -> socket.socket:
    """A TCP connection set as websocket-client sets its own: no Nagle delay on small messages,
    keep-alive probes so that a peer gone silent is noticed."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    return sock


def _read_answer(sock: socket.socket) -> Tuple[int, Dict[str, str], bytes]:
    """The status, the headers (names in lower case) and whatever bytes followed them."""
    received = b""
    while b"\r\n\r\n" not in received:
        if len(received) > MAX_RESPONSE_HEAD:
            raise HandshakeFailed("the server's answer to the WebSocket handshake has no end")
        chunk = sock.recv(4096)
        if not chunk:
            raise HandshakeFailed("the server closed the connection during the WebSocket handshake")
        received += chunk
    head, rest = received.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HandshakeFailed(f"the server's answer is not HTTP: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest


def _masked(payload: bytes, key: bytes) -> bytes:
    """`payload` XOR the key repeated, as one big-integer operation (C speed on long messages)."""
    length = len(payload)
    repeated = (key * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
