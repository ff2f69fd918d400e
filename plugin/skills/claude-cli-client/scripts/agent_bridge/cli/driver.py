"""The shape both command lines share around the library: signals, waiting for a turn, hints.

Shared by codex-ws-client and claude-cli-client: the canonical copy lives in
codex-ws-client, and a test proves the claude copy is identical.
"""
import signal

from ..outcome import Interrupted, TimedOut


def catch_stop_signals():
    """SIGTERM, and SIGINT also in a background job (`cmd &` starts Python with it ignored),
    raise KeyboardInterrupt: the call then stops the way Ctrl-C stops it."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def wait_for(turn, interrupt_turn=True, progress=None):
    """The turn's envelope. Ctrl-C (or --max-time) interrupts the turn, a second one stops
    waiting at once; with `interrupt_turn` False it only stops the wait, the turn going on.
    `progress` (a Progress, or None) is shown meanwhile, and cleared before this returns."""
    if progress is None:
        return _wait(turn, interrupt_turn)
    progress.start(turn)
    try:
        return _wait(turn, interrupt_turn)
    finally:
        progress.stop()


def _wait(turn, interrupt_turn):
    try:
        return turn.result()
    except KeyboardInterrupt:
        pass
    if not interrupt_turn:
        return turn.abandon(Interrupted("stopped waiting; the turn is still running"))
    try:
        return turn.stop()
    except KeyboardInterrupt:
        return turn.abandon(Interrupted("interrupted by the user"))


# The library parameters whose option has another name (the review's, which share one group).
OPTION_OF_SETTING = {"uncommitted": "review", "base": "review_base", "commit": "review_commit",
                     "style": "review_style"}


def add_option_hint(envelope, args):
    """Names the command-line option behind the error that ended the call (e.g. --timeout): one the
    call has a value for (given, or its default), or the one it lacks that is the way out. The
    error names a library parameter; the option is the one of that name, or of OPTION_OF_SETTING."""
    failure = envelope.failure
    given = _option(getattr(failure, "setting", None))
    way_out = _option(getattr(failure, "way_out", None))
    if given and getattr(args, given, None) not in (None, False, []):
        envelope.error += f" (--{given.replace('_', '-')})"
    elif way_out:
        envelope.error += f" (--{way_out.replace('_', '-')})"
    return envelope


def _option(setting):
    """The name (argparse's dest) of the option that sets a library parameter, or None."""
    return OPTION_OF_SETTING.get(setting, setting)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def reached_max_time(envelope):
    """True when the library stopped the call at its max_time (the command line's --max-time)."""
    return isinstance(envelope.failure, TimedOut) and envelope.failure.setting == "max_time"


def max_time_reason(args):
    return f"the call reached --max-time {args.max_time:g}s and was stopped"


def in_option_words(envelope, args):
    """The envelope as the command line says it: the library's max_time is the call's --max-time (the
    limit given, not what was left of it when the turn began), and the option behind another error is named."""
    if reached_max_time(envelope) and args.max_time:
        envelope.fail(TimedOut(max_time_reason(args)))
        return envelope
    return add_option_hint(envelope, args)
