"""Benchmark: a claude-cli-client REPL turn vs the floor, the same turn on claude's own stream-json
protocol driven by a minimal reader. Both keep one claude process for every turn, with the same
claude options, against the instant fake Anthropic API; their turns alternate, A B A B, so
machine noise hits both alike.

Run alone with `.venv/bin/python -m bench.claude_turns [--quick]`; bench/run.py includes it.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.claude_minimal import STREAM_JSON  # noqa: E402
from fixtures.fakes import anthropic_api  # noqa: E402
from fixtures.peers import CLAUDE_BIN, CLAUDE_SCRIPT, PEERS_BIN  # noqa: E402
TARGET_RATIO = 1.15


def environment(fake, home):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANTHROPIC_", "CLAUDE"))}
    env.update(HOME=home, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{fake.port}", ANTHROPIC_API_KEY="sk-test",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", PATH=f"{PEERS_BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def _start(argv, env=None, cwd=None):
    return subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)


def _write_line(process, line):
    process.stdin.write(line + "\n")
    process.stdin.flush()


class ReplClient:
    """A `--repl --json` client: one prompt line in, one envelope line out."""

    def __init__(self, argv, env=None, cwd=None):
        self.process = _start([*argv, "--repl", "--json"], env, cwd)

    def turn(self, prompt):
        _write_line(self.process, prompt)
        line = self.process.stdout.readline()
        if '"completed"' not in line:
            raise RuntimeError(f"REPL turn {prompt!r} did not complete: {line[:200]}")

    def close(self):
        self.process.stdin.close()
        self.process.wait(30)


class MinimalReader:
    """claude's stream-json protocol by hand: initialize, then a user line in, lines read until `result`."""

    def __init__(self, env, cwd):
        self.process = _start([str(CLAUDE_BIN), *STREAM_JSON], env, cwd)
        self._send({"type": "control_request", "request_id": "init",
                    "request": {"subtype": "initialize"}})
        self._read_until("control_response")

    def turn(self, prompt):
        self._send({"type": "user", "message": {"role": "user", "content": prompt},
                    "parent_tool_use_id": None, "session_id": "default"})
        result = self._read_until("result")
        if result.get("is_error"):
            raise RuntimeError(f"stream-json turn {prompt!r} failed: {result}")

    def close(self):
        self.process.stdin.close()
        self.process.wait(30)

    def _send(self, message):
        _write_line(self.process, json.dumps(message))

    def _read_until(self, kind):
        for line in self.process.stdout:
            message = json.loads(line)
            if message.get("type") == kind:
                return message
        raise RuntimeError(f"claude ended before a {kind!r} line")


def repl_turn_seconds(argv, turns, env=None, cwd=None):
    """Wall seconds of each turn after the first on one `--repl --json` client process."""
    return alternating_turn_seconds({"repl": ReplClient(argv, env, cwd)}, turns)["repl"]


def alternating_turn_seconds(drivers, turns):
    """Wall seconds of each turn after the first (which also pays for start-up), per driver,
    the drivers taking turns A B A B; closes them."""
    times = {name: [] for name in drivers}
    try:
        for number in range(turns + 1):
            for name, driver in drivers.items():
                started = time.perf_counter()
                driver.turn(f"turn {number}")
                if number:
                    times[name].append(time.perf_counter() - started)
    finally:
        for driver in drivers.values():
            driver.close()
    return times


def measure(turns=10):
    """Returns {"repl_turn_s": median, "floor_turn_s": median, "ratio": repl / floor}."""
    fake = anthropic_api.start()
    home, cwd = tempfile.mkdtemp(prefix="bench-home-"), tempfile.mkdtemp(prefix="bench-work-")
    try:
        env = environment(fake, home)
        times = alternating_turn_seconds({"repl": ReplClient([sys.executable, str(CLAUDE_SCRIPT)], env, cwd),
                                          "floor": MinimalReader(env, cwd)}, turns)
    finally:
        fake.stop()
    result = {"repl_turn_s": statistics.median(times["repl"]), "floor_turn_s": statistics.median(times["floor"])}
    result["ratio"] = result["repl_turn_s"] / result["floor_turn_s"]
    return result


def main():
    turns = 4 if "--quick" in sys.argv else 10
    result = measure(turns)
    verdict = "PASS" if result["ratio"] <= TARGET_RATIO else "FAIL"
    print(f"claude REPL turn through the client         median {result['repl_turn_s'] * 1000:8.1f} ms")
    print(f"claude stream-json turn, minimal reader     median {result['floor_turn_s'] * 1000:8.1f} ms")
    print(f"ratio {result['ratio']:.2f} (target <= {TARGET_RATIO}) {verdict}")


if __name__ == "__main__":
    main()
