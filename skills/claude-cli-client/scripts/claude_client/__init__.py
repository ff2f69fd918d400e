"""claude_client: a client for the local `claude` CLI in stream-json mode (library and CLI)."""
