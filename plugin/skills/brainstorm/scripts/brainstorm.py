#!/usr/bin/env python3
"""brainstorm: Codex and Claude deliberate on a topic, round by round, through the two client skills.

Run with --help for the options. The work happens in the brainstorm_lib package beside this file.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from brainstorm_lib.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
