"""Session: one connection to `codex app-server` and its current thread, behind the interface
claude_client.Session shares: `ask(prompt) -> envelope dict`, `start(prompt) -> turn`, `review(...) -> turn`,
`close()`.

    from codex_client import Session

    with Session("ws://127.0.0.1:8765", cwd="/path/to/repo") as codex:
        print(codex.ask("Summarize this repo")["text"])
"""
import os

from agent_bridge.deadline import Deadline
from agent_bridge.review import DEFAULT_STYLE, ReviewRequest
from agent_bridge.trace import Tracer

from .client import CLIENT_NAME, CodexClient, ThreadOptions, TurnOptions


class Session:
    def __init__(self, uri=None, *, thread_id=None, cwd=None, model=None, sandbox=None, instructions=None,
                 personality=None, approval_policy=None, ephemeral=False, spawn=False, **connect_options):
        """Connects (`connect_options` as CodexClient.connect takes them: token, headers, timeout, ...).
        Without `uri`: a server at the default address, else the per-user daemon, started if need be
        (`connection` then says which). With `spawn`, a `uri` where nothing answers gets
        `codex app-server` started there, left running (`spawned` then describes it). The thread is started, or `thread_id` resumed, by the first turn
        or by `open_thread()`."""
        self.thread_options = ThreadOptions(cwd=cwd, model=model, sandbox=sandbox, instructions=instructions,
                                            personality=personality, approval_policy=approval_policy,
                                            ephemeral=ephemeral)
        self.resume_id = thread_id
        self.connection = None
        self.spawned = None
        if spawn:
            from .spawn import check_spawnable, connect_or_spawn   # kept off the start-up path of other calls
            check_spawnable(uri)
            self.client, self.spawned = connect_or_spawn(
                lambda: CodexClient.connect(uri, **connect_options), uri, connect_options.get("codex_bin", "codex"),
                connect_options.get("tracer") or Tracer(CLIENT_NAME), connect_options.get("connect_timeout") or 30)
        elif uri is None:
            from .default_server import connect_default   # kept off the start-up path of calls given a URI
            self.client, self.connection = connect_default(
                lambda found: CodexClient.connect(found, **connect_options),
                connect_options.get("codex_bin", "codex"), connect_options.get("tracer") or Tracer(CLIENT_NAME))
        else:
            self.client = CodexClient.connect(uri, **connect_options)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def thread_id(self):
        return self.client.thread_id

    def open_thread(self):
        """Resumes the thread the session was given, else starts one; returns its id."""
        if self.resume_id:
            return self.client.resume_thread(self.resume_id, self.thread_options)
        return self.client.start_thread(self.thread_options)

    def start_new(self):
        """Starts a fresh thread with the same options; later turns go there."""
        self.resume_id = None
        return self.open_thread()

    def start(self, prompt, **turn_options):
        """Starts a turn and returns its TurnHandle at once. `turn_options`: images, output_schema,
        effort, on_text, steer_from_input, keep_deltas, on_message (see TurnOptions)."""
        if self.client.thread_id is None:
            self.open_thread()
        return self.client.start_turn(prompt, TurnOptions(**turn_options))

    def review(self, uncommitted=False, base=None, commit=None, instructions=None, style=DEFAULT_STYLE,
               **turn_options):
        """Starts a review and returns its TurnHandle at once; its envelope gets `review`. The target: exactly
        one of `uncommitted`, `base` (a branch) or `commit`, or `instructions` alone (see ReviewRequest).
        The thread's directory is checked with git first (BadArguments: not a repository, nothing to
        review, ...), unless a resumed thread keeps its own directory. `turn_options`: on_text, keep_deltas."""
        request = ReviewRequest(uncommitted, base, commit, instructions, style)
        if self.thread_options.cwd or not self.resume_id:
            from agent_bridge.review_git import Changes   # runs git: kept off the start-up path of a turn
            Changes(os.path.abspath(self.thread_options.cwd or os.getcwd()), request)   # checks them
        if self.client.thread_id is None:
            self.open_thread()
        return self.client.start_review(request, TurnOptions(**turn_options))

    def ask(self, prompt, max_time=None, **turn_options):
        """Runs a turn to its end; returns the envelope `--json` prints (errors are in it, not raised).
        With `max_time` (seconds) the turn is stopped then: its status is timeout (see Turn.result)."""
        deadline = Deadline(max_time)
        return self.start(prompt, **turn_options).result(deadline.remaining()).to_dict()

    def close(self):
        self.client.close()
