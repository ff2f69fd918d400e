"""--doctor: whether a call would work, without spending tokens.

One line per check (with --json one object): the codex CLI and its version, the server a
call would use, the login (`account/read`; left out when there is no server to ask), this skill's
version. Exit 0 when a call would work, else 3. It starts nothing that outlives it: with no server running it asks a private
stdio:// server for the login.
"""
import os
import shutil
import subprocess

from agent_bridge import CORE_VERSION

from ..client import CLIENT_NAME, DEFAULT_URI, OLDEST_TESTED_SERVER, CodexClient
from ..default_server import DAEMON, LISTENING, codex_home_problem, daemon_uri
from agent_bridge.outcome import ClientError
from agent_bridge.cli.doctor_report import report
from agent_bridge.shapes import as_dict, is_older
from ..transport import NothingListening, codex_missing



def run_doctor(args):
    client, server = open_server(args)
    checks = [codex_cli_check(args.codex_bin, server_running=server["ok"] and server["via"] != "none"), server]
    if client:   # else the server check says why there is none to ask
        checks.append(login_check(client))
        client.close()
    checks.append({"name": "skill", "ok": True, "detail": f"{CLIENT_NAME} {CORE_VERSION} at {skill_folder()}"})
    return report(checks, args.json)


def codex_cli_check(codex_bin, server_running):
    """A running server answers without codex: then a missing codex is only needed to start a new one."""
    path = shutil.which(codex_bin)
    if not path:
        detail = codex_missing(codex_bin)
        if server_running:
            detail += "; needed only to start a new server: the running one answers without it"
        return {"name": "codex", "ok": server_running, "detail": detail}
    try:
        done = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return {"name": "codex", "ok": False, "detail": f"{path} --version failed: {error}"}
    version = done.stdout.strip().split()[-1] if done.stdout.strip() else ""
    tested = "older than the oldest tested" if is_older(version, OLDEST_TESTED_SERVER) else "tested"
    return {"name": "codex", "ok": done.returncode == 0, "path": path, "version": version,
            "in_tested_range": tested == "tested",
            "detail": f"{path}, version {version or 'unknown'} ({tested}: {OLDEST_TESTED_SERVER} and newer)"}


def open_server(args):
    """(client or None, the server check): the server a call would use, else a private stdio:// one."""
    given = [(args.uri, "given")] if args.uri else []
    for uri, via in given or [(DEFAULT_URI, LISTENING), (daemon_uri(), DAEMON)]:
        try:
            client = connect(args, uri)
        except NothingListening:
            continue
        except ClientError as error:
            return None, {"name": "server", "ok": False, "uri": uri, "via": via, "detail": str(error)}
        detail = f"{uri} ({via})"
        if via == DAEMON:
            detail += f"; {stop_daemon_hint()}"
        return client, {"name": "server", "ok": True, "uri": uri, "via": via, "detail": detail}
    if given:
        return None, {"name": "server", "ok": False, "uri": args.uri, "via": "given",
                      "detail": f"nothing answers at {args.uri}"}
    problem = codex_home_problem() or (None if shutil.which(args.codex_bin) else codex_missing(args.codex_bin))
    server = {"name": "server", "ok": not problem, "uri": daemon_uri(), "via": "none",
              "detail": f"none running: a call starts the codex app-server daemon at {daemon_uri()}"}
    if problem:
        server["detail"] = f"none running, and a call cannot start the codex app-server daemon: {problem}"
        return None, server
    try:
        return connect(args, "stdio://"), server
    except ClientError:
        return None, server


def connect(args, uri):
    return CodexClient.connect(uri, headers=(), connect_timeout=args.connect_timeout, ca_file=args.ca_file,
                               codex_bin=args.codex_bin, timeout=30)


def login_check(client):
    try:
        answer = as_dict(client.request("account/read", {}))
    except ClientError as error:
        return {"name": "login", "ok": False, "detail": f"account/read failed: {error}"}
    account = as_dict(answer.get("account"))
    if account:
        return {"name": "login", "ok": True, "detail": f"logged in ({account.get('type', 'account')})"}
    if answer.get("requiresOpenaiAuth") is False:
        return {"name": "login", "ok": True, "detail": "no login needed (the configured model provider needs none)"}
    return {"name": "login", "ok": False, "detail": "not logged in: run `codex login`"}


def stop_daemon_hint():
    return f"stop the daemon with: python3 {os.path.join(skill_folder(), 'scripts', 'codex_ws_client.py')} --stop-daemon"


def skill_folder():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
