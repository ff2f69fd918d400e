"""scripts/demo.sh, the README's "see it work" command, runs and leaves nothing behind."""
import os
import re
import subprocess

from tests.helpers import ROOT


def test_demo_runs_both_clients_and_a_brainstorm_and_stops_what_it_started():
    done = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh")], capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.count('"status": "completed"') == 2 + 1 + 2 * 3   # the brainstorm: itself and 6 answers
    assert '"text": "echo: Hello Codex, what is 6 x 7?"' in done.stdout
    assert '"text": "echo: Hello Claude, what is 6 x 7?"' in done.stdout
    assert "## Round 2\n\n### Codex\n\necho: Round 2" in done.stdout and "## Conclusions after round 2" in done.stdout
    server_pid = int(re.search(r"\(pid (\d+)\)", done.stdout).group(1))
    try:
        os.killpg(server_pid, 0)
        raise AssertionError("the demo's codex app-server is still running")
    except ProcessLookupError:
        pass


def test_demo_and_bench_run_without_the_tests():
    """They import their fakes and peers from fixtures/, so running them needs neither tests/ nor pytest."""
    for script in [ROOT / "scripts" / "demo.py", *sorted((ROOT / "bench").glob("*.py"))]:
        imports = [line for line in script.read_text().splitlines() if line.startswith(("from ", "import "))]
        assert not [line for line in imports if re.match(r"(from|import) (tests|pytest)\b", line)], script
