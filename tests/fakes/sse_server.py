"""A loopback HTTP server that answers POSTs with scripted server-sent events.

Both fake model APIs (OpenAI Responses, Anthropic Messages) are built on it: they
differ only in how a scripted reply becomes a list of events.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Reply:
    """One scripted answer to one model request."""

    def __init__(self, kind, *, text="", chunks=1, delay=0.0, status=200,
                 tool_name="", tool_args=None, hang=False, gap=0.0):
        self.kind = kind            # "text", "tool", "error"
        self.text = text
        self.chunks = chunks
        self.delay = delay          # seconds before the first event
        self.status = status
        self.tool_name = tool_name
        self.tool_args = tool_args or {}
        self.hang = hang            # keep the stream open without finishing
        self.gap = gap              # seconds between two streamed events


def text(s, chunks=1, delay=0.0, gap=0.0):
    return Reply("text", text=s, chunks=chunks, delay=delay, gap=gap)


def huge(size, chunk_size=64 * 1024):
    body = ("0123456789abcdef" * (size // 16 + 1))[:size]
    return Reply("text", text=body, chunks=max(1, size // chunk_size))


def tool(name, args, delay=0.0):
    return Reply("tool", tool_name=name, tool_args=args, delay=delay)


def error(status=500, text="fake model failure"):
    return Reply("error", status=status, text=text)


def hang(partial=""):
    """Streams `partial` (if any), then keeps the stream open without ever finishing."""
    return Reply("text", text=partial, hang=True)


def split(s, n):
    size = max(1, -(-len(s) // max(1, n)))
    return [s[i:i + size] for i in range(0, len(s), size)] or [""]


class FakeSSEServer:
    """Serves POSTs on 127.0.0.1 with a queue of Replies.

    When the queue is empty, `default(request_json)` decides the reply, so many
    concurrent clients can each get an answer derived from their own prompt.
    """

    def __init__(self, events_for, default):
        self.events_for = events_for
        self.default = default
        self.script = []
        self.requests = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, *replies):
        with self.lock:
            self.script.extend(replies)

    def reset(self):
        with self.lock:
            self.script.clear()
            self.requests.clear()

    def wait_for_requests(self, count, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"fake model got {len(self.requests)} requests, wanted {count}")

    def _next_reply(self, body):
        with self.lock:
            self.requests.append(body)
            if self.script:
                return self.script.pop(0)
        return self.default(body)

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw.decode("utf-8", "replace")}
                body["_path"] = self.path
                reply = server._next_reply(body)
                if reply.delay:
                    server.stopping.wait(reply.delay)
                if reply.kind == "error":
                    payload = json.dumps({"error": {"message": reply.text, "type": "server_error"}}).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for event_type, data in server.events_for(reply, body):
                        self.wfile.write(f"event: {event_type}\ndata: {json.dumps(data)}\n\n".encode())
                        self.wfile.flush()
                        if reply.gap:
                            server.stopping.wait(reply.gap)
                    if reply.hang:
                        server.stopping.wait(3600)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
