"""Benchmarks, measured side by side in one run against the real pinned peers with instant fake
models. Prints medians and ratios against the targets. Run from the repository root:

    .venv/bin/python -m bench.run [--quick]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import claude_turns, claude_warm  # noqa: E402
from bench.minimal_client import Connection  # noqa: E402
from fixtures.fakes import responses_api, sse_server  # noqa: E402
from fixtures.peers import CODEX_BIN, CODEX_SCRIPT, CodexServer  # noqa: E402

MINIMAL = ROOT / "bench" / "minimal_client.py"
CLAUDE_MINIMAL = ROOT / "bench" / "claude_minimal.py"
BRAINSTORM = ROOT / "plugin" / "skills" / "brainstorm" / "scripts" / "brainstorm.py"
RUSAGE = ROOT / "bench" / "rusage.py"
LAUNCHER_WALL = 0.0    # set by main(): the launcher's own start-up, taken off every wall time
TEN_MB = 10 * 1024 * 1024
SMALL_DELTAS = 100_000          # deltas of 99 bytes: a 10 MB answer streamed a few characters at a time
SMALL_DELTA_BYTES = 99
LONG_RUN_ROUNDS = 6              # brainstorm: runs of 1 and of this many rounds
CLAUDE_PLACEHOLDER = "{claude}"   # in a command line: the claude executable, started through rusage.py


def timed(argv, env=None, cwd=None):
    """(wall seconds, CPU seconds, peak RSS in KiB) of one command that must exit 0."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(RUSAGE), *argv], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    usage = json.loads(done.stderr.strip().splitlines()[-1])
    if usage["exit_code"] != 0:
        raise RuntimeError(f"{argv[:3]} exited {usage['exit_code']}: {done.stderr[-300:]!r}")
    return wall - LAUNCHER_WALL, usage["cpu_s"], usage["max_rss_kib"]


def interleaved(commands, repetitions):
    """Runs the commands in turn, A B C A B C ..., so machine noise hits all alike.

    One run of each comes first, unmeasured: it fills the bytecode cache, as the first call after an
    install does for a user.
    """
    results = {name: [] for name in commands}
    for _ in range(repetitions + 1):
        for name, argv in commands.items():
            results[name].append(timed(*argv) if isinstance(argv, tuple) else timed(argv))
    return {name: samples[1:] for name, samples in results.items()}


def installed_copy():
    """The codex skill installed by scripts/install.py into a new project, as a user gets it
    (with the bytecode the installer ships); returns its entry script."""
    project = Path(tempfile.mkdtemp(prefix="bench-project-"))
    subprocess.run([sys.executable, str(ROOT / "scripts" / "install.py"), "--project", str(project),
                    "codex-ws-client"], check=True, stdout=subprocess.DEVNULL)
    return project / ".codex" / "skills" / "codex-ws-client" / "scripts" / "codex_ws_client.py"


def without_bytecode_writes():
    """The environment of a shell or CI image with PYTHONDONTWRITEBYTECODE=1: only shipped bytecode helps."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPYCACHEPREFIX"}
    return dict(env, PYTHONDONTWRITEBYTECODE="1")


def small_deltas_rows(server, fake, repetitions):
    """A 10 MB answer in 100,000 deltas of 99 bytes: CPU and peak memory of the client (default output
    and --json) against the minimal script."""
    python = sys.executable
    commands = {"client": [python, str(CODEX_SCRIPT), "--uri", server.uri, "big"],
                "client --json": [python, str(CODEX_SCRIPT), "--uri", server.uri, "--json", "big"],
                "minimal": [python, str(MINIMAL), server.uri, "big"]}
    fake.add(*[sse_server.huge(SMALL_DELTAS * SMALL_DELTA_BYTES, chunk_size=SMALL_DELTA_BYTES)
               for _ in range(len(commands) * (repetitions + 1))])
    runs = interleaved(commands, repetitions)
    minimal_cpu, minimal_rss = median(runs["minimal"], 1), median(runs["minimal"], 2) / 1024
    rows = [("100k deltas: minimal CPU / peak memory", f"{minimal_cpu:.2f} s / {minimal_rss:.0f} MiB", "")]
    for name in ("client", "client --json"):
        cpu, rss = median(runs[name], 1), median(runs[name], 2) / 1024
        rows += [(f"100k deltas: {name} CPU", f"{cpu:.2f} s",
                  f"ratio {cpu / minimal_cpu:.2f} <= 1.00 {verdict(cpu / minimal_cpu, 1.0)}"),
                 (f"100k deltas: {name} peak memory", f"{rss:.0f} MiB",
                  f"ratio {rss / minimal_rss:.2f} <= 1.10 {verdict(rss / minimal_rss, 1.1)}")]
    return rows


def claude_stream_rows(repetitions):
    """A 10 MB claude answer in 100,000 stream-json lines: the client (default output) against the
    minimal reader of the same claude output, each with claude's own CPU time taken off."""
    fake = claude_turns.anthropic_api.start()
    home, cwd = tempfile.mkdtemp(prefix="bench-home-"), tempfile.mkdtemp(prefix="bench-work-")
    env = claude_turns.environment(fake, home)
    commands = {"client": [sys.executable, str(claude_turns.CLAUDE_SCRIPT), "--claude-bin", CLAUDE_PLACEHOLDER, "big"],
                "minimal": [sys.executable, str(CLAUDE_MINIMAL), CLAUDE_PLACEHOLDER, "big"]}
    fake.add(*[sse_server.huge(SMALL_DELTAS * SMALL_DELTA_BYTES, chunk_size=SMALL_DELTA_BYTES)
               for _ in range(len(commands) * (repetitions + 1))])
    samples = {name: [] for name in commands}
    try:
        for _ in range(repetitions + 1):
            for name, argv in commands.items():
                samples[name].append(without_claude(argv, env, cwd))
    finally:
        fake.stop()
    client, minimal = (median(runs[1:], 1) for runs in samples.values())
    return [("claude 10 MB in 100k lines, CPU less claude's: client / minimal", f"{client:.2f} / {minimal:.2f} s",
             f"ratio {client / minimal:.2f} <= 1.10 {verdict(client / minimal, 1.10)}")]


def brainstorm_rows(server, repetitions):
    """The brainstorm process's own CPU time per round and at start-up, both peers answering at once.

    A run of R rounds has R + 1 exchanges (the rounds, then the conclusions), both peers answering
    in parallel in each: runs of 1 and of LONG_RUN_ROUNDS rounds give the cost of one exchange and,
    left over, of the start-up (five rounds apart, so that the noise of two one-second runs is
    shared out over five rounds). claude's CPU time is taken off (codex app-server runs apart); wall times are
    shown beside, with the peers' own turn times from minimal drivers of each."""
    fake = claude_turns.anthropic_api.start()
    home, cwd = tempfile.mkdtemp(prefix="bench-home-"), tempfile.mkdtemp(prefix="bench-work-")
    env = claude_turns.environment(fake, home)
    runs = {1: [], LONG_RUN_ROUNDS: []}
    try:
        for _ in range(repetitions + 1):
            for rounds, samples in runs.items():
                samples.append(without_claude([sys.executable, str(BRAINSTORM), "--json", "--uri", server.uri,
                                               "--claude-bin", CLAUDE_PLACEHOLDER, "--rounds", str(rounds),
                                               "Cache in Redis or in process?"], env, cwd))
        floors = claude_turns.alternating_turn_seconds({"codex": MinimalCodex(server.uri),
                                                        "claude": claude_turns.MinimalReader(env, cwd)}, 10)
    finally:
        fake.stop()
    (wall_1, cpu_1), (wall_long, cpu_long) = ((median(runs[r][1:], 0), median(runs[r][1:], 1))
                                              for r in (1, LONG_RUN_ROUNDS))
    extra_rounds = LONG_RUN_ROUNDS - 1
    cpu_per_round, wall_per_round = (cpu_long - cpu_1) / extra_rounds, (wall_long - wall_1) / extra_rounds
    peers = max(statistics.median(floors["codex"]), statistics.median(floors["claude"]))
    return [
        (f"brainstorm CPU less claude's: 1 round / {LONG_RUN_ROUNDS} rounds",
         f"{cpu_1 * 1000:.0f} / {cpu_long * 1000:.0f} ms", ""),
        ("  per round / start-up", f"{cpu_per_round * 1000:.0f} / {(cpu_1 - 2 * cpu_per_round) * 1000:.0f} ms", ""),
        (f"brainstorm wall: 1 round / {LONG_RUN_ROUNDS} rounds", f"{wall_1 * 1000:.0f} / {wall_long * 1000:.0f} ms", ""),
        ("  per round / the slower peer's own turn", f"{wall_per_round * 1000:.0f} / {peers * 1000:.0f} ms",
         f"ratio {wall_per_round / peers:.2f} <= 1.25 "
         + (verdict(wall_per_round / peers, 1.25) if wall_per_round > 0 else "FAIL (noise: run on a quiet machine)")),
    ]


class MinimalCodex:
    """A codex turn on one connection, the minimal client's way."""

    def __init__(self, uri):
        self.connection = Connection(uri)

    def turn(self, prompt):
        self.connection.turn(prompt)

    def close(self):
        self.connection.close()


def without_claude(argv, env, cwd):
    """timed(argv) of a command that runs claude, with claude's own CPU time taken off.

    claude is started through bench/rusage.py, which appends its CPU time (and its own) to a
    file: a process's CPU time includes that of the children it has waited for.
    """
    usage_file = Path(tempfile.mkstemp(prefix="bench-claude-usage-")[1])
    shim = usage_file.with_suffix(".sh")
    shim.write_text(f'#!/bin/sh\nRUSAGE_FILE="{usage_file}" exec "{sys.executable}" "{RUSAGE}" '
                    f'"{claude_turns.CLAUDE_BIN}" "$@"\n')
    shim.chmod(0o755)
    wall, cpu, rss = timed([str(shim) if arg == CLAUDE_PLACEHOLDER else arg for arg in argv], env, cwd)
    claude = [json.loads(line) for line in usage_file.read_text().splitlines()]
    return wall, cpu - sum(run["cpu_s"] + run["launcher_cpu_s"] for run in claude), rss


def median(samples, index):
    return statistics.median(sample[index] for sample in samples)


def verdict(value, target):
    return "PASS" if value <= target else "FAIL"


def main():
    global LAUNCHER_WALL
    quick = "--quick" in sys.argv
    # Measure the programs as users run them, with compiled bytecode cached (some shells and CI
    # images set PYTHONDONTWRITEBYTECODE, which would make every start-up compile every module).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-pycache-")
    repetitions = 5 if quick else 15
    LAUNCHER_WALL = statistics.median(timed(["true"])[0] for _ in range(repetitions))
    rows = []
    fake = responses_api.start()
    home = Path(tempfile.mkdtemp(prefix="bench-codex-"))
    server = CodexServer(home / "codex-home", fake)
    python = sys.executable
    try:
        exec_env = dict(os.environ, CODEX_HOME=str(home / "codex-home"))
        installed = installed_copy()
        one_shot = interleaved({
            "client": [python, str(CODEX_SCRIPT), "--uri", server.uri, "--json", "hello"],
            "installed": ([python, str(installed), "--uri", server.uri, "--json", "hello"], without_bytecode_writes()),
            "minimal": [python, str(MINIMAL), server.uri, "hello"],
            "codex exec": ([str(CODEX_BIN), "exec", "--skip-git-repo-check", "hello"], exec_env, str(home)),
        }, repetitions)
        client_wall, minimal_wall = median(one_shot["client"], 0), median(one_shot["minimal"], 0)
        installed_wall = median(one_shot["installed"], 0)
        client_cpu, minimal_cpu = median(one_shot["client"], 1), median(one_shot["minimal"], 1)
        installed_cpu = median(one_shot["installed"], 1)
        exec_wall = median(one_shot["codex exec"], 0)
        rows += [
            ("one-shot wall: client", f"{client_wall * 1000:.0f} ms", ""),
            ("one-shot wall: minimal script", f"{minimal_wall * 1000:.0f} ms", ""),
            ("one-shot wall: codex exec", f"{exec_wall * 1000:.0f} ms", ""),
            ("one-shot CPU: client / minimal",
             f"{client_cpu * 1000:.0f} / {minimal_cpu * 1000:.0f} ms", ""),
            ("ratio client / minimal (CPU)", f"{client_cpu / minimal_cpu:.2f}",
             f"<= 1.15 {verdict(client_cpu / minimal_cpu, 1.15)}"),
            ("ratio client / minimal (wall)", f"{client_wall / minimal_wall:.2f}",
             f"<= 1.10 {verdict(client_wall / minimal_wall, 1.10)}"),
            ("ratio client / codex exec (wall)", f"{client_wall / exec_wall:.2f}",
             f"<= 0.60 {verdict(client_wall / exec_wall, 0.60)}"),
            ("one-shot wall: installed, PYTHONDONTWRITEBYTECODE=1", f"{installed_wall * 1000:.0f} ms", ""),
            ("ratio installed (no bytecode writes) / minimal (wall)", f"{installed_wall / minimal_wall:.2f}",
             f"<= 1.10 {verdict(installed_wall / minimal_wall, 1.10)}"),
            ("ratio installed (no bytecode writes) / minimal (CPU)", f"{installed_cpu / minimal_cpu:.2f}",
             f"<= 1.15 {verdict(installed_cpu / minimal_cpu, 1.15)}"),
        ]

        repl = claude_turns.repl_turn_seconds([python, str(CODEX_SCRIPT), "--uri", server.uri], 10 if quick else 30)
        rows.append(("REPL turn wall (one connection)", f"{statistics.median(repl) * 1000:.1f} ms", ""))

        streams = {}
        stream_repetitions = 3 if quick else 7
        fake.add(*[sse_server.huge(TEN_MB) for _ in range(2 * (stream_repetitions + 1))])
        stream_runs = interleaved({
            "client": [python, str(CODEX_SCRIPT), "--uri", server.uri, "big"],
            "minimal": [python, str(MINIMAL), server.uri, "big"],
        }, stream_repetitions)
        for name, samples in stream_runs.items():
            streams[name] = (median(samples, 1), median(samples, 2) / 1024)
        cpu_ratio = streams["client"][0] / streams["minimal"][0]
        # The same, less each program's CPU for a short one-shot turn: the cost of the 10 MB itself.
        client_per_10mb = streams["client"][0] - median(one_shot["client"], 1)
        minimal_per_10mb = streams["minimal"][0] - median(one_shot["minimal"], 1)
        marginal_ratio = client_per_10mb / minimal_per_10mb
        memory_limit = 3 * TEN_MB / 2**20 + 30
        rows += [
            ("10 MB answer CPU (streamed): client / minimal", f"{streams['client'][0]:.2f} / {streams['minimal'][0]:.2f} s",
             f"ratio {cpu_ratio:.2f} <= 1.10 {verdict(cpu_ratio, 1.10)}"),
            ("  of which the 10 MB itself: client / minimal", f"{client_per_10mb:.3f} / {minimal_per_10mb:.3f} s",
             f"ratio {marginal_ratio:.2f} <= 1.10 {verdict(marginal_ratio, 1.10)}"),
            ("10 MB answer peak memory: client", f"{streams['client'][1]:.0f} MiB",
             f"<= {memory_limit:.0f} MiB {verdict(streams['client'][1], memory_limit)}"),
            ("10 MB answer peak memory: minimal", f"{streams['minimal'][1]:.0f} MiB", ""),
        ]
        rows += small_deltas_rows(server, fake, 2 if quick else 4)
        rows += brainstorm_rows(server, 3 if quick else 5)
        rows += claude_warm.rows(4 if quick else 10)
    finally:
        server.stop()
        fake.stop()

    help_runs = interleaved({"help": [python, str(CODEX_SCRIPT), "--help"]}, repetitions)["help"]
    help_ms = median(help_runs, 0) * 1000
    rows.append(("--help wall", f"{help_ms:.0f} ms", f"<= 80 ms {verdict(help_ms, 80)}"))

    claude = claude_turns.measure(4 if quick else 10)
    rows += [
        ("claude REPL turn through the client", f"{claude['repl_turn_s'] * 1000:.1f} ms", ""),
        ("claude stream-json turn, minimal reader", f"{claude['floor_turn_s'] * 1000:.1f} ms", ""),
        ("ratio client turn / minimal reader", f"{claude['ratio']:.2f}",
         f"<= {claude_turns.TARGET_RATIO:.2f} {verdict(claude['ratio'], claude_turns.TARGET_RATIO)}"),
    ]
    rows += claude_stream_rows(2 if quick else 3)

    width = max(len(row[0]) for row in rows)
    print(f"benchmarks ({'quick' if quick else 'full'}; medians of {repetitions} runs unless noted)")
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:>16}  {target}")


if __name__ == "__main__":
    main()
