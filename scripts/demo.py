"""The offline demo behind scripts/demo.sh: both clients against the real peers and fake models."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.fakes import anthropic_api, responses_api  # noqa: E402
from fixtures.peers import CLAUDE_SCRIPT, CODEX_SCRIPT, SKILLS, CodexServer, PEERS_BIN  # noqa: E402

BRAINSTORM_SCRIPT = SKILLS / "brainstorm" / "scripts" / "brainstorm.py"


def run_client(title, argv, env=None, cwd=None):
    print(f"\n== {title}")
    print("$ " + shlex.join(["python3", os.path.relpath(argv[0], ROOT), *argv[1:]]))
    done = subprocess.run([sys.executable, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        raise SystemExit(f"demo: {title} exited {done.returncode}")
    envelope = json.loads(done.stdout)
    print(json.dumps(envelope, indent=2, ensure_ascii=False))
    return envelope


def main():
    workspace = Path(tempfile.mkdtemp(prefix="codex-claude-demo-"))
    codex_model, claude_model = responses_api.start(), anthropic_api.start()
    server = None
    try:
        print(f"== starting codex app-server (fake model on 127.0.0.1:{codex_model.port})")
        server = CodexServer(workspace / "codex-home", codex_model)
        print(f"   listening on {server.uri} (pid {server.process.pid})")
        run_client("codex-ws-client asks Codex", [str(CODEX_SCRIPT), "--uri", server.uri, "--json",
                                                   "--cwd", str(workspace), "Hello Codex, what is 6 x 7?"])

        home = workspace / "claude-home"
        home.mkdir()
        env = {key: value for key, value in os.environ.items() if not key.startswith(("ANTHROPIC_", "CLAUDE"))}
        env.update(HOME=str(home), ANTHROPIC_BASE_URL=f"http://127.0.0.1:{claude_model.port}",
                   ANTHROPIC_API_KEY="sk-demo", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                   PATH=f"{PEERS_BIN}{os.pathsep}{env.get('PATH', '')}")
        print(f"\n== claude CLI {PEERS_BIN / 'claude'} (fake model on 127.0.0.1:{claude_model.port})")
        run_client("claude-cli-client asks Claude", [str(CLAUDE_SCRIPT), "--json", "Hello Claude, what is 6 x 7?"],
                   env=env, cwd=workspace)

        envelope = run_client("brainstorm: Codex and Claude deliberate for 2 rounds",
                              [str(BRAINSTORM_SCRIPT), "--json", "--uri", server.uri, "--rounds", "2",
                               "Tabs or spaces?"], env=env, cwd=workspace)
        print(f"\n== the brainstorm's transcript ({envelope['transcript']}):\n")
        print(Path(envelope["transcript"]).read_text(encoding="utf-8"))
        print("\n== done: every envelope above has status completed (the fake models echo the prompt)")
    finally:
        if server:
            server.stop()
        codex_model.stop()
        claude_model.stop()
        shutil.rmtree(workspace, ignore_errors=True)
        print("== stopped everything the demo started")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit(130)
