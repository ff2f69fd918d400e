"""claude-cli-client's command line, built on the claude_client library (which never imports it)."""
from .app import main

__all__ = ["main"]
