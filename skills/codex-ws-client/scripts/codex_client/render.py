"""Where a turn's output goes: streamed text, the final text once, or a JSON envelope."""
import json
import sys

from .outcome import BadArguments

STREAM, FINAL, JSON = "stream", "final", "json"


class Renderer:
    def __init__(self, name, mode, out_path=None, summary=False, stdout=None, stderr=None):
        self.name = name
        self.mode = mode
        self.out_path = out_path
        self.summary = summary
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.streamed_anything = False
        self.ends_with_newline = True

    def delta(self, piece):
        """A piece of assistant text, printed at once in stream mode."""
        if self.mode != STREAM or not piece:
            return
        self.stdout.write(piece)
        self.stdout.flush()
        self.streamed_anything = True
        self.ends_with_newline = piece.endswith("\n")

    def turn_done(self, envelope):
        text = envelope.text
        if self.mode == STREAM and not self.ends_with_newline:
            self.stdout.write("\n")
        elif self.mode == FINAL and text:
            self.stdout.write(text if text.endswith("\n") else text + "\n")
        elif self.mode == JSON:
            self.stdout.write(json.dumps(envelope.to_dict(), ensure_ascii=False) + "\n")
        self.stdout.flush()
        self.streamed_anything, self.ends_with_newline = False, True
        if envelope.error:
            print(f"{self.name}: error: {envelope.error}", file=self.stderr, flush=True)
        if self.summary:
            self._print_summary(envelope)
        if self.out_path and (text or envelope.status == "completed"):
            self._write_out(text)

    def _print_summary(self, envelope):
        parts = [f"status={envelope.status}"]
        parts += [f"{key}={value}" for key, value in envelope.metrics.items() if value is not None]
        print(f"[{self.name}] summary: " + " ".join(parts), file=self.stderr, flush=True)

    def _write_out(self, text):
        try:
            with open(self.out_path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:
            print(f"{self.name}: error: cannot write --out {self.out_path}: {error.strerror}",
                  file=self.stderr, flush=True)


def check_writable(path, option):
    """Fails before any turn starts rather than lose the answer at the end."""
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise BadArguments(f"cannot write {option} {path}: {error.strerror}") from None
