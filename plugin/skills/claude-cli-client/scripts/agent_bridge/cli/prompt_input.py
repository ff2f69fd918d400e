"""Read the prompt from the command line, a file, or standard input."""
import os
import sys

from ..outcome import BadArguments


def read_prompt(positional, prompt_file, stdin=None):
    """Return the prompt text; every way it can be unusable is a BadArguments."""
    if positional is not None and prompt_file is not None:
        raise BadArguments("give the prompt either as an argument or with --prompt-file, not both")
    if prompt_file is not None:
        text = _decode(_read_bytes(prompt_file, stdin or sys.stdin), prompt_file)
    elif positional is not None:
        text = positional
    else:
        raise BadArguments("no prompt: pass it as an argument, or use --prompt-file FILE (- for stdin)")
    if not text.strip():
        raise BadArguments("the prompt is empty")
    return text


def read_text_file(path, option):
    """The text of a file an option names (UTF-8; a byte-order mark is dropped); BadArguments if unusable."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except OSError as error:
        raise BadArguments(f"cannot read {option} {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise BadArguments(f"{option} {path} is not UTF-8") from None


def check_text_arguments(args):
    """Text on the command line that is not UTF-8 cannot be sent to the peer: say so before anything starts.

    Python keeps such bytes as lone surrogates (U+DC80..U+DCFF), which no encoder accepts.
    """
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                _check_utf8(text, "the prompt argument" if name == "prompt" else "--" + name.replace("_", "-"))


def _check_utf8(text, what):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadArguments(f"{what} is not UTF-8 (a bad byte at character {error.start})") from None


def _read_bytes(prompt_file, stdin):
    if prompt_file == "-":
        return stdin.buffer.read()
    try:
        with open(prompt_file, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise BadArguments(f"cannot read --prompt-file {prompt_file}: {error.strerror}") from None


def _decode(data, name):
    try:
        # utf-8-sig drops a leading byte-order mark if there is one.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        where = "stdin" if name == "-" else name
        raise BadArguments(f"the prompt in {where} is not UTF-8 (bad byte at offset {error.start})") from None


def read_token(token_file, variable):
    """A bearer token: the text of `token_file` (--token-file) if given, else the environment
    `variable`, else None. BadArguments for an unusable or empty file."""
    if token_file:
        token = read_text_file(token_file, "--token-file").strip()
        if not token:
            raise BadArguments(f"--token-file {token_file} is empty")
        return token
    return os.environ.get(variable) or None
