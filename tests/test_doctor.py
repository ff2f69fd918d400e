"""--doctor on both clients, against the real peers: what it finds, one line per check or JSON,
exit 0 only when a call would work (else 3), and no model request (no tokens spent)."""
import json
import os
import socket

import pytest

from tests.claude.conftest import claude_env, fake_anthropic  # noqa: F401 - fixtures used below
from tests.codex.conftest import CONFIG, codex_server, fake_model  # noqa: F401
from tests.helpers import CLAUDE_BIN, CLAUDE_SCRIPT, CODEX_BIN, CODEX_SCRIPT, installed_version, run_script


def doctor(script, *args, env):
    result = run_script(script, ["--doctor", *args], env=env, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def checks_of(result):
    answer = json.loads(result.stdout)
    assert answer["ok"] == (result.returncode == 0), answer
    return {check["name"]: check for check in answer["checks"]}


def test_codex_doctor_with_a_server_and_a_provider_that_needs_no_login(codex_server, tmp_path):  # noqa: F811
    env = dict(os.environ, HOME=str(tmp_path), CODEX_HOME=str(codex_server.home))
    result = doctor(CODEX_SCRIPT, "--json", "--uri", codex_server.uri, "--codex-bin", CODEX_BIN, env=env)
    assert result.returncode == 0, result.stdout
    checks = checks_of(result)
    assert checks["codex"]["version"] == installed_version("@openai/codex")
    assert checks["codex"]["in_tested_range"] is True and checks["codex"]["path"] == str(CODEX_BIN)
    assert (checks["server"]["uri"], checks["server"]["via"]) == (codex_server.uri, "given")
    assert checks["login"]["ok"] and "no login needed" in checks["login"]["detail"]
    assert checks["skill"]["detail"].startswith("codex-ws-client 1.1.0 at ")
    assert codex_server.fake.requests == []

    lines = doctor(CODEX_SCRIPT, "--uri", codex_server.uri, "--codex-bin", CODEX_BIN, env=env).stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["codex", "server", "login", "skill"]


@pytest.mark.xdist_group("default-port")   # it relies on what answers at the default port
def test_codex_doctor_without_login_is_exit_3_and_starts_nothing(tmp_path):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8765)) == 0:
            pytest.skip("something answers at 127.0.0.1:8765")
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()   # no config: the default provider needs an OpenAI login
    env = dict(os.environ, HOME=str(tmp_path), CODEX_HOME=str(codex_home))
    env.pop("CODEX_APP_SERVER_URI", None)
    result = doctor(CODEX_SCRIPT, "--json", "--codex-bin", CODEX_BIN, env=env)
    assert result.returncode == 3
    checks = checks_of(result)
    assert checks["codex"]["ok"] and checks["server"]["via"] == "none"
    assert "a call starts the codex app-server daemon" in checks["server"]["detail"]
    assert not checks["login"]["ok"] and "codex login" in checks["login"]["detail"]
    assert not (codex_home / "app-server-control").exists()


def test_codex_doctor_without_codex_is_exit_3(tmp_path):
    result = doctor(CODEX_SCRIPT, "--json", "--codex-bin", tmp_path / "no-codex",
                    env=dict(os.environ, HOME=str(tmp_path), CODEX_HOME=str(tmp_path)))
    assert result.returncode == 3
    assert "not found" in checks_of(result)["codex"]["detail"]


def test_claude_doctor_logged_in_with_an_api_key(claude_env, fake_anthropic):  # noqa: F811
    result = doctor(CLAUDE_SCRIPT, "--json", env=claude_env)
    assert result.returncode == 0, result.stdout
    checks = checks_of(result)
    assert checks["claude"]["version"] == installed_version("@anthropic-ai/claude-code")
    assert checks["claude"]["in_tested_range"] is True and checks["claude"]["path"] == str(CLAUDE_BIN)
    assert checks["login"]["detail"] == "logged in (api_key)"
    assert checks["skill"]["detail"].startswith("claude-cli-client 1.1.0 at ")
    assert fake_anthropic.requests == []


def test_claude_doctor_not_logged_in_is_exit_3(claude_env):  # noqa: F811
    env = {key: value for key, value in claude_env.items() if key != "ANTHROPIC_API_KEY"}
    result = doctor(CLAUDE_SCRIPT, env=env)
    assert result.returncode == 3
    assert [line.split(":")[:2] for line in result.stdout.splitlines()] == [
        ["claude", " ok"], ["login", " PROBLEM"], ["skill", " ok"]]
