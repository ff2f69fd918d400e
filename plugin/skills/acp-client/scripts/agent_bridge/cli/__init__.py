"""The command-line pieces both clients share: output, progress, the REPL, jobs, the call's limit.
The library (agent_bridge, codex_client, claude_client) never imports this package."""
