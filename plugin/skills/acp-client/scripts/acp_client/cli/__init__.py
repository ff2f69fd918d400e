"""acp-client's command line, built on the acp_client library (which never imports it)."""
from .app import main

__all__ = ["main"]
