"""A peer run as a child process: in a process group of its own, its stderr kept as a tail,
its output read in lines with a size limit, and stopped with nothing left behind."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Protocol, Sequence, Union

from .outcome import ParseError, PeerExited

MAX_LINE_BYTES = 1 << 30       # far above any real message (as on the WebSocket path); more is a broken peer
CHUNK_BYTES = 1 << 16          # asked of the pipe per read: what a full pipe holds on Linux
STDERR_TAIL_LINES = 20


def own_process_group() -> Dict[str, Any]:
    """Popen arguments that put the child in a process group of its own."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def signal_group(process: subprocess.Popen, sig: int) -> None:
    """Sends `sig` to the child's whole process group (on Windows, ends the child)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, sig)
        elif process.poll() is None:
            process.terminate()
    except (ProcessLookupError, PermissionError):
        pass


def kill_group(process: subprocess.Popen) -> None:
    signal_group(process, getattr(signal, "SIGKILL", signal.SIGTERM))


def stop_group(process: subprocess.Popen, grace: float) -> None:
    """Ends a running child and everything it started: TERM to its group, `grace` seconds to go, then
    KILL; what it left in its group is killed either way."""
    if process.poll() is None:
        signal_group(process, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            kill_group(process)
            process.wait()
    kill_group(process)   # children left in the group


class HasFileno(Protocol):
    """A child's stdout, or a socket: what LineReader reads through its file descriptor."""

    def fileno(self) -> int: ...


class LineReader:
    """A child's output cut into lines, read in large chunks: one system call for all the lines a
    chunk holds."""

    def __init__(self, stream: HasFileno, peer: str) -> None:
        self.stream = stream            # the child's stdout, read through its file descriptor
        self.peer = peer
        self.partial = bytearray()      # the start of a line whose end is not read yet
        self.ended = False

    def fileno(self) -> Optional[int]:
        """What select can wait on (None on Windows, where select takes only sockets)."""
        return self.stream.fileno() if os.name == "posix" else None

    def read_available(self) -> Sequence[Union[bytes, bytearray]]:
        """One read of the output, blocking until it returns: the lines it completed, as bytes
        without their line ends (maybe none). EOFError after the last line, also one without a
        line end."""
        if self.ended:
            raise EOFError
        chunk = os.read(self.stream.fileno(), CHUNK_BYTES)
        if not chunk:
            self.ended = True
            last, self.partial = self.partial, bytearray()
            if last:
                return [last]
            raise EOFError
        end = chunk.rfind(b"\n")
        if len(self.partial) + (len(chunk) if end < 0 else end) > MAX_LINE_BYTES:
            raise ParseError(f"{self.peer} printed a line longer than {MAX_LINE_BYTES} bytes")
        if end < 0:
            self.partial += chunk
            return []
        self.partial += chunk[:end]
        lines = self.partial.split(b"\n")
        self.partial = bytearray(chunk[end + 1:])
        return lines


class StderrTail:
    """The last lines the child wrote on stderr, read on a thread of their own; `on_line` sees each."""

    def __init__(self, stream: Iterable[bytes], on_line: Optional[Callable[[str], object]] = None) -> None:
        self.lines: Deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.done = threading.Event()
        threading.Thread(target=self._read, args=(stream, on_line), daemon=True).start()

    def last(self) -> List[str]:
        """The tail's non-empty lines, once the child has closed stderr (or after 2 s)."""
        self.done.wait(2)
        return [line for line in self.lines if line.strip()]

    def _read(self, stream: Iterable[bytes], on_line: Optional[Callable[[str], object]]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.lines.append(line)
            if on_line:
                on_line(line)
        self.done.set()


def exited(process: subprocess.Popen, stderr_tail: StderrTail, peer: str) -> PeerExited:
    """The PeerExited error for a child that has ended: its exit code and the end of its stderr."""
    code = process.wait()
    tail = stderr_tail.last()
    # The line that says what went wrong, rather than the end of a backtrace printed after it.
    reason = next((line for line in reversed(tail) if "error" in line.lower()), tail[-1] if tail else "")
    return PeerExited(f"{peer} exited (code {code})" + (f": {reason.strip()}" if reason else " without a result"),
                      code, tail)
