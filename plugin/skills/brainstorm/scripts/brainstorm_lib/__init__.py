"""brainstorm_lib: a deliberation between Codex and Claude through the codex-ws-client and
claude-cli-client skills installed beside this one."""
