"""Benchmark: a claude-cli-client REPL turn on one long-lived claude process vs a fresh
`claude -p` process per turn, both against the instant fake Anthropic API.

Run alone with `.venv/bin/python -m bench.claude_turns`; bench/run.py includes it.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.fakes import anthropic_api  # noqa: E402
from tests.helpers import CLAUDE_SCRIPT, PEERS_BIN  # noqa: E402


def _environment(fake, home):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANTHROPIC_", "CLAUDE"))}
    env.update(HOME=home, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{fake.port}", ANTHROPIC_API_KEY="sk-test",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", PATH=f"{PEERS_BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def repl_turn_seconds(argv, turns, env=None, cwd=None):
    """Wall seconds of each turn after the first, on one `--repl --json` client process:
    prompt line written -> envelope line read. The first turn also pays for start-up."""
    client = subprocess.Popen([*argv, "--repl", "--json"], env=env, cwd=cwd, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
    times = []
    try:
        for number in range(turns + 1):
            started = time.perf_counter()
            client.stdin.write(f"turn {number}\n")
            client.stdin.flush()
            line = client.stdout.readline()
            if '"completed"' not in line:
                raise RuntimeError(f"REPL turn {number} did not complete: {line[:200]}")
            if number:
                times.append(time.perf_counter() - started)
    finally:
        client.stdin.close()
        client.wait(30)
    return times


def fresh_process_seconds(env, cwd, turns):
    """Wall seconds of `claude -p PROMPT --output-format json`, a new process per turn."""
    times = []
    for number in range(turns):
        started = time.perf_counter()
        done = subprocess.run([os.path.join(str(PEERS_BIN), "claude"), "-p", f"turn {number}",
                               "--output-format", "json"], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"claude -p failed: {done.stderr[-300:]}")
    return times


def measure(turns=10):
    """Returns {"repl_turn_s": median, "fresh_process_s": median, "ratio": repl / fresh}."""
    fake = anthropic_api.start()
    home, cwd = tempfile.mkdtemp(prefix="bench-home-"), tempfile.mkdtemp(prefix="bench-work-")
    try:
        env = _environment(fake, home)
        repl = repl_turn_seconds([sys.executable, str(CLAUDE_SCRIPT)], turns, env, cwd)
        fresh = fresh_process_seconds(env, cwd, turns)
    finally:
        fake.stop()
    result = {"repl_turn_s": statistics.median(repl), "fresh_process_s": statistics.median(fresh)}
    result["ratio"] = result["repl_turn_s"] / result["fresh_process_s"]
    return result


def main():
    turns = 4 if "--quick" in sys.argv else 10
    result = measure(turns)
    target = 0.5
    verdict = "PASS" if result["ratio"] <= target else "FAIL"
    print(f"claude REPL turn (one process)     median {result['repl_turn_s'] * 1000:8.1f} ms")
    print(f"claude -p, fresh process per turn  median {result['fresh_process_s'] * 1000:8.1f} ms")
    print(f"ratio {result['ratio']:.2f} (target <= {target}) {verdict}")


if __name__ == "__main__":
    main()
