"""A hand-written WebSocket server for faults the real app-server cannot be made to show:
malformed or binary frames, a close in the middle of a turn, a refused handshake.

It answers `initialize`, `thread/start` and `turn/start` like app-server, then plays
a scripted list of actions. Loopback only.
"""
import base64
import hashlib
import json
import socket
import struct
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload, opcode=0x1, final=True):
    header = bytes([(0x80 if final else 0) | opcode])
    length = len(payload)
    if length < 126:
        header += bytes([length])
    elif length < 65536:
        header += bytes([126]) + struct.pack(">H", length)
    else:
        header += bytes([127]) + struct.pack(">Q", length)
    return header + payload


def read_frame(conn):
    """One client frame (always masked) as (opcode, payload); None when the peer is gone."""
    head = _read_exact(conn, 2)
    if head is None:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = struct.unpack(">H", _read_exact(conn, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", _read_exact(conn, 8))[0]
    mask = _read_exact(conn, 4)
    data = _read_exact(conn, length) or b""
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def _read_exact(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class FaultServer:
    """`status`: the handshake's HTTP status (101 accepts). `script`: what to do after turn/start,
    a list of ("json", obj) | ("raw", bytes payload as text frame) | ("binary", bytes)
    | ("bytes", bytes sent as they are, e.g. hand-made frames) | ("close",) | ("drop",)
    | ("wait",): stop playing, keep answering requests.
    `on_request`: method -> answer ({"result": ...} or {"error": ...}), or a list of answers
    used one per request, the last one repeated."""

    def __init__(self, script=(), status=101, on_request=None, user_agent="fault-server/0.169.0"):
        self.script = list(script)
        self.user_agent = user_agent
        self.status = status
        self.on_request = on_request or {}
        self.received = []
        self.pongs = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.uri = f"ws://127.0.0.1:{self.port}"
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def stop(self):
        self.done.set()
        self.listener.close()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            self._serve_connection(conn)
        except OSError:
            pass   # the client hung up first: nothing more to play
        finally:
            conn.close()

    def _serve_connection(self, conn):
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        self.handshake = request.decode("latin-1")
        if self.status != 101:
            conn.sendall(f"HTTP/1.1 {self.status} Refused\r\nContent-Length: 0\r\n\r\n".encode())
            return
        key = [line.split(":", 1)[1].strip() for line in self.handshake.split("\r\n")
               if line.lower().startswith("sec-websocket-key:")][0]
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        self._converse(conn)


    def _converse(self, conn):
        played = False
        while not self.done.is_set():
            got = read_frame(conn)
            if got is None or got[0] == 0x8:
                return
            if got[0] == 0xA:
                self.pongs.append(got[1])
                continue
            message = json.loads(got[1])
            self.received.append(message)
            method = message.get("method")
            if "id" not in message or "method" not in message:
                continue
            answer = self._scripted_answer(method) or {"result": self._default_result(method)}
            conn.sendall(frame(json.dumps({"id": message["id"], **answer}).encode()))
            if method == "turn/start" and not played and "error" not in answer:
                played = True
                if not self._play(conn):
                    return

    def _scripted_answer(self, method):
        answers = self.on_request.get(method)
        if isinstance(answers, list):
            return answers.pop(0) if len(answers) > 1 else answers[0]
        return answers

    def _default_result(self, method):
        return {"initialize": {"userAgent": self.user_agent},
                "thread/start": {"thread": {"id": "thread-1"}},
                "turn/start": {"turn": {"id": "turn-1", "status": "inProgress"}}}.get(method, {})

    def _play(self, conn):
        """Plays the script; True to go on answering requests afterwards."""
        for action in self.script:
            kind = action[0]
            if kind == "json":
                conn.sendall(frame(json.dumps(action[1]).encode()))
            elif kind == "raw":
                conn.sendall(frame(action[1]))
            elif kind == "binary":
                conn.sendall(frame(action[1], opcode=0x2))
            elif kind == "bytes":
                conn.sendall(action[1])
            elif kind == "close":
                conn.sendall(frame(struct.pack(">H", 1011), opcode=0x8))
                return False
            elif kind == "drop":
                conn.shutdown(socket.SHUT_RDWR)
                return False
            elif kind == "wait":
                return True
        return False


def delta(text, item="item-1"):
    return ("json", {"method": "item/agentMessage/delta",
                     "params": {"threadId": "thread-1", "turnId": "turn-1", "itemId": item, "delta": text}})
