"""REPL: many prompts on one connection, /thread, /new, /exit, /quit, stdin piped."""


def _sent_methods(result):
    return [r["msg"].get("method") for r in result.trace if r["dir"] == "out" and "method" in r["msg"]]


def test_repl_runs_many_turns_on_one_connection_and_thread(codex):
    result = codex("--repl", "--json", stdin="first\nsecond\n/thread\n/new\nthird\n/exit\nnever sent\n")
    assert result.returncode == 0, result.stderr
    first, second, shown, new, third = result.envelopes
    assert [first["text"], second["text"], third["text"]] == ["echo: first", "echo: second", "echo: third"]
    assert first["thread_id"] == second["thread_id"] == shown["thread_id"]
    assert new["thread_id"] == third["thread_id"] != first["thread_id"]
    methods = _sent_methods(result)
    assert methods.count("initialize") == 1
    assert methods.count("thread/start") == 2 and methods.count("turn/start") == 3
    assert len(codex.fake.requests) == 3


def test_repl_quit_and_end_of_input(codex):
    quit_result = codex("--repl", "--no-stream", stdin="one\n/quit\ntwo\n")
    assert quit_result.stdout == "echo: one\n"
    eof_result = codex("--repl", "--no-stream", stdin="one\ntwo")
    assert eof_result.stdout == "echo: one\necho: two\n"
    assert eof_result.returncode == 0


def test_repl_thread_command_prints_the_id_in_text_mode(codex):
    result = codex("--repl", "--print-thread-id", stdin="/thread\n")
    thread_line = [line for line in result.stderr.splitlines() if line.startswith("THREAD_ID=")][0]
    assert result.stdout.strip() == thread_line.split("=", 1)[1]


def test_repl_goes_on_after_a_failed_turn(codex):
    from fixtures.fakes.sse_server import error
    codex.fake.add(error(500))
    result = codex("--repl", "--json", stdin="will fail\nworks\n")
    failed, ok = result.envelopes
    assert failed["status"] == "failed" and failed["exit_code"] == 1
    assert ok["status"] == "completed"
    assert result.returncode == 1
