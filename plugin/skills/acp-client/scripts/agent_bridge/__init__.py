"""The shared core of codex-ws-client and claude-cli-client: the envelope and its exit codes, the
errors, the turn interface, deadlines, tracing, reviews, job records. Its `cli` subpackage holds
the command-line pieces both clients share; nothing outside a command line imports it.

Both skills carry this package as identical copies (a test checks), under one name, so a
program that imports both clients gets one copy: one `ClientError`, one `Envelope`.
"""
