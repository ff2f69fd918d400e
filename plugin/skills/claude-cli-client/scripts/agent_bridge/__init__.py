"""What codex-ws-client and claude-cli-client share: the envelope and its exit codes, the
errors, the turn interface, the command-line driver pieces.

Both skills carry this package as identical copies (a test checks), under one name, so a
program that imports both clients gets one copy: one `ClientError`, one `Envelope`.
"""
