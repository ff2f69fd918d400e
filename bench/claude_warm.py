"""Benchmark: the second and later calls of one claude session, warm (--keep-warm: the call talks to
the claude process a keeper holds) against cold (the call starts claude with --resume), beside the
floor: the same turn on a live claude process driven by the minimal stream-json reader. The
client's own overhead over the model's time is a warm call's wall time less the floor's turn (the
fake model answers at once); beside it the client's bare start-up (`--help`). Also the memory a kept
session holds (keeper + claude, resident). Calls alternate cold, warm, floor, --help, so machine
noise hits all alike.

Run alone with `.venv/bin/python -m bench.claude_warm [--quick]`; bench/run.py includes it.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench.claude_turns import CLAUDE_SCRIPT, MinimalReader, anthropic_api, environment

TARGET_OVERHEAD_SECONDS = 0.15
KEEP_WARM_SECONDS = "600"


def measure(repetitions):
    """Returns {"cold_s", "warm_s", "floor_s", "help_s", "warm_overhead_s", "kept_memory_mib"} (medians)."""
    fake = anthropic_api.start()
    home, cwd = tempfile.mkdtemp(prefix="bench-home-"), tempfile.mkdtemp(prefix="bench-work-")
    env = environment(fake, home)

    def call(*args):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(CLAUDE_SCRIPT), "--json", *args], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=120)
        envelope = json.loads(done.stdout)
        if envelope.get("status") != "completed":
            raise RuntimeError(f"claude call {args} did not complete: {done.stdout[:300]}")
        return envelope, time.perf_counter() - started

    times = {"cold": [], "warm": [], "floor": [], "help": []}
    floor = None
    try:
        cold_id = call("first")[0]["session_id"]
        warm_id = call("--keep-warm", KEEP_WARM_SECONDS, "first")[0]["session_id"]
        floor = MinimalReader(env, cwd)
        floor.turn("first")
        for number in range(repetitions):
            times["cold"].append(call("--session-id", cold_id, f"turn {number}")[1])
            times["warm"].append(call("--session-id", warm_id, f"turn {number}")[1])
            started = time.perf_counter()
            floor.turn(f"turn {number}")
            times["floor"].append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run([sys.executable, str(CLAUDE_SCRIPT), "--help"], capture_output=True, timeout=60)
            times["help"].append(time.perf_counter() - started)
        listed = subprocess.run([sys.executable, str(CLAUDE_SCRIPT), "--sessions", "--json"], env=env,
                                capture_output=True, text=True, timeout=60)
        kept = json.loads(listed.stdout)["sessions"]
        memory = next(each["memory_bytes"] for each in kept if each["session_id"] == warm_id)
    finally:
        subprocess.run([sys.executable, str(CLAUDE_SCRIPT), "--stop-warm"], env=env, capture_output=True, timeout=60)
        if floor is not None:
            floor.close()
        fake.stop()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)
    result = {f"{name}_s": statistics.median(samples) for name, samples in times.items()}
    result["warm_overhead_s"] = result["warm_s"] - result["floor_s"]
    result["kept_memory_mib"] = memory / 2**20
    return result


def rows(repetitions):
    """The rows bench/run.py prints."""
    result = measure(repetitions)
    overhead = result["warm_overhead_s"]
    verdict = "PASS" if overhead <= TARGET_OVERHEAD_SECONDS else "FAIL"
    return [
        ("claude 2nd call of a session: cold / warm / floor turn",
         f"{result['cold_s'] * 1000:.0f} / {result['warm_s'] * 1000:.0f} / {result['floor_s'] * 1000:.0f} ms", ""),
        ("claude warm call's overhead over the model's time", f"{overhead * 1000:.0f} ms",
         f"<= {TARGET_OVERHEAD_SECONDS * 1000:.0f} ms {verdict}"),
        ("  the client's bare start-up (--help), beside it", f"{result['help_s'] * 1000:.0f} ms", ""),
        ("claude memory held per kept session (keeper + claude)", f"{result['kept_memory_mib']:.0f} MiB", "reported"),
    ]


def main():
    # As bench/run.py: the calls run with their compiled bytecode cached, as users' calls do.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")
    for name, value, target in rows(4 if "--quick" in sys.argv else 10):
        print(f"{name:58} {value:>22}  {target}")


if __name__ == "__main__":
    main()
