"""The council's own overhead per stage: a council of 4 instant seats (two codex models on the real
pinned app-server, two claude models on the real pinned claude, all against instant fake models),
each stage's wall time beside the slowest seat's. Run from the repository root:

    .venv/bin/python -m bench.council [--quick]

For each stage it prints the stage's wall time (from asking the seats to having every answer), the
slowest seat's time for its answer (its whole ask: opening its session in stage 1, then the turn)
and the slowest turn alone (the client's latency_ms), the overhead (stage less slowest seat) and
the ratio stage / slowest seat (stage 3 asks one seat: only its times are shown); then the whole
run (the process, start to exit) against the sum of the stages. Medians over the runs.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.fakes import anthropic_api, responses_api  # noqa: E402
from fixtures.fakes.sse_server import text  # noqa: E402
from fixtures.peers import PEERS_BIN, CodexServer  # noqa: E402

BRAINSTORM = ROOT / "plugin" / "skills" / "brainstorm" / "scripts" / "brainstorm.py"
SEATS = ["codex:model=alpha", "codex:model=beta", "claude:model=gamma", "claude:model=delta"]
LABEL = re.compile(r"^### Answer ([A-Z])$", re.M)


def instant_reply(prompt):
    """An answer, a ranking (the labels in the order shown) with a revised answer, or a synthesis."""
    labels = LABEL.findall(prompt)
    if "Rank these" in prompt:
        ranking = [{"label": label, "reason": "fine"} for label in labels]
        return text(f"```json\n{json.dumps({'ranking': ranking})}\n```\nrevised answer")
    return text("an answer" if "Each member answers" in prompt else "the synthesis")


def one_council(uri, env, cwd):
    """(the envelope, the process's wall seconds) of one council with one review round."""
    argv = [sys.executable, str(BRAINSTORM), "--json", "--uri", uri, "--keep-warm", "0", "--rounds", "1",
            *[arg for seat in SEATS for arg in ("--seat", seat)], "Instant seats: what does the council cost?"]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the council exited {done.returncode}: {done.stderr[-400:]}")
    return json.loads(done.stdout), wall


def stages(envelope):
    """[(stage, stage ms, slowest seat ms, slowest turn ms)] of one council."""
    council = envelope["council"]
    rows = []
    for round_ in council["rounds"]:
        name = "stage 1 (answers)" if round_["round"] == 0 else f"stage 2 (review round {round_['round']})"
        answers = round_["answers"]
        rows.append((name, round_["elapsed_ms"], max(a["elapsed_ms"] for a in answers),
                     max(a["metrics"].get("latency_ms", 0) for a in answers)))
    return rows


def main():
    runs = 3 if "--quick" in sys.argv else 7
    codex_fake, claude_fake = responses_api.start(), anthropic_api.start()
    codex_fake.default = lambda body: instant_reply(responses_api.last_user_text(body))
    claude_fake.default = lambda body: instant_reply(anthropic_api.last_user_text(body))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        server = CodexServer(folder / "codex-home", codex_fake)
        (folder / "home").mkdir()
        env = {key: value for key, value in os.environ.items() if not key.startswith(("ANTHROPIC_", "CLAUDE"))}
        env.update(HOME=str(folder / "home"), ANTHROPIC_BASE_URL=f"http://127.0.0.1:{claude_fake.port}",
                   ANTHROPIC_API_KEY="sk-bench", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                   PATH=f"{PEERS_BIN}{os.pathsep}{env.get('PATH', '')}")
        try:
            one_council(server.uri, env, folder)   # unmeasured: fills the bytecode cache
            results = [one_council(server.uri, env, folder) for _ in range(runs)]
        finally:
            server.stop()
            codex_fake.stop()
            claude_fake.stop()
    report(results)


def report(results):
    per_stage = {}
    for envelope, _ in results:
        for name, stage, seat, turn in stages(envelope):
            per_stage.setdefault(name, []).append((stage, seat, turn))
    print(f"council of {len(SEATS)} instant seats ({', '.join(SEATS)}), medians of {len(results)} runs")
    print(f"{'stage':28} {'stage ms':>9} {'slowest seat':>13} {'slowest turn':>13} {'overhead ms':>12} {'ratio':>6}")
    for name, samples in per_stage.items():
        stage, seat, turn = (statistics.median(column) for column in zip(*samples))
        print(f"{name:28} {stage:9.0f} {seat:13.0f} {turn:13.0f} {stage - seat:12.0f} {stage / seat:6.2f}")
    chairs = [(envelope["council"]["chair"]["elapsed_ms"], envelope["council"]["chair"]["metrics"].get("latency_ms", 0))
              for envelope, _ in results]
    seat, turn = (statistics.median(column) for column in zip(*chairs))
    print(f"{'stage 3 (synthesis)':28} {'-':>9} {seat:13.0f} {turn:13.0f} {'-':>12} {'-':>6}")
    walls = [wall * 1000 for _, wall in results]
    in_stages = [sum(stage for _, stage, _, _ in stages(envelope)) + envelope["council"]["chair"]["elapsed_ms"]
                 for envelope, _ in results]
    wall, staged = statistics.median(walls), statistics.median(in_stages)
    print(f"{'whole run (process)':28} {wall:9.0f} {staged:13.0f} {'':13} {wall - staged:12.0f} {wall / staged:6.2f}"
          "   (beside the sum of the stages: start-up, saving, closing the seats)")


if __name__ == "__main__":
    main()
