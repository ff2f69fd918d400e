"""Fixtures that run the real pinned `gemini --acp` against the fake Gemini API."""
import json
import os

import pytest

from fixtures.fakes import gemini_api
from tests.helpers import ACP_SCRIPT, PEERS_BIN, json_lines, run_script, validate_envelope

MODEL = "gemini-2.5-flash"   # named, so gemini asks no router model first (see PEERS.md)


@pytest.fixture
def fake_gemini():
    fake = gemini_api.start()
    yield fake
    fake.stop()


@pytest.fixture
def gemini_env(tmp_path, fake_gemini):
    """A HOME of gemini's own that selects API-key auth, the fake API, and the pinned gemini first on PATH."""
    home = tmp_path / "gemini-home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GEMINI_", "GOOGLE_"))}
    env.update(HOME=str(home), GEMINI_API_KEY="test-key", GOOGLE_GEMINI_BASE_URL=f"http://127.0.0.1:{fake_gemini.port}",
               GEMINI_CLI_TRUST_WORKSPACE="true", PATH=f"{PEERS_BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


@pytest.fixture
def workdir(tmp_path):
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def acp(gemini_env, fake_gemini, tmp_path, workdir):
    """Runs acp_client.py as a user would, in `workdir`, with the test model unless the call names one."""

    def run(*args, stdin=None, timeout=120, env=None, cwd=None, trace=True):
        args = list(args)
        if "--model" not in args and "--agent-command" not in args and "--doctor" not in args:
            args += ["--model", MODEL]
        trace_path = tmp_path / f"trace-{len(run.calls)}.jsonl"
        if trace and "--ndjson-file" not in args:
            args += ["--ndjson-file", str(trace_path)]
        result = run_script(ACP_SCRIPT, args, stdin=stdin, timeout=timeout, env=env or gemini_env, cwd=cwd or workdir)
        result.envelopes = [validate_envelope(e, "acp-client") if "status" in e else e
                            for e in json_lines(result.stdout)] if "--json" in args else []
        result.envelope = next((e for e in reversed(result.envelopes) if "status" in e), None)
        result.trace = json_lines(trace_path.read_text()) if trace and trace_path.exists() else []
        run.calls.append(result)
        return result

    run.calls = []
    run.fake = fake_gemini
    run.env = gemini_env
    run.workdir = workdir
    return run
