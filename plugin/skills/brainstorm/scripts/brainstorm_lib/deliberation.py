"""The deliberation: rounds in which both sides answer in parallel, then conclusions.

Everything lives in one `record` dict, the envelope that --json prints; it is saved after
every round, so a failure, Ctrl-C or --max-time keeps everything so far.
"""
import threading
import time

from . import prompts
from .errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT, STATUS_OF_EXIT

SIDES = ("codex", "claude")
STOP_GRACE_SECONDS = 10.0    # how long an interrupted peer may take to end its turn


class RunStopped(Exception):
    """Ctrl-C or --max-time: the peers were interrupted."""

    def __init__(self, exit_code):
        super().__init__(STATUS_OF_EXIT[exit_code])
        self.exit_code = exit_code


def new_record(topic, style, as_peer=None):
    return {"status": "inProgress", "exit_code": None, "topic": topic, "style": style, "as_peer": as_peer,
            "rounds": [], "conclusions": None, "earlier_conclusions": [], "converged": False, "codex_thread_id": None,
            "claude_session_id": None, "transcript": None, "state_file": None,
            "totals": {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "elapsed_ms": 0}}


class CallerSide:
    """The calling agent on one side (--as-peer): its answer is the text it passed."""

    def __init__(self, name, text):
        self.name = name
        self.text = text

    def ask(self, prompt):
        return {"status": "completed", "exit_code": EXIT_OK, "text": self.text, "turn_id": None, "by": "caller"}

    def interrupt(self):
        pass

    def close(self):
        pass


class Deliberation:
    def __init__(self, record, sides, templates, save, deadline=None, progress=lambda line: None):
        self.record = record
        self.sides = sides               # {"codex": peer, "claude": peer}
        self.templates = templates
        self.save = save                 # save(record), after every step
        self.deadline = deadline         # time.monotonic() value for --max-time, or None
        self.progress = progress
        self.started = time.monotonic()
        self.elapsed_before = record["totals"]["elapsed_ms"]

    def run(self, rounds, until_agree=False, conclude=True):
        """Adds `rounds` rounds (fewer when both converge, with `until_agree`), then the conclusions."""
        try:
            for _ in range(rounds):
                entries = self._round()
                if self._failed(entries):
                    return self._finish()
                if until_agree and self.record["converged"]:
                    self.progress("both sides say they have converged")
                    break
            if conclude:
                self._conclusions()
        except RunStopped as stop:
            self._stop(stop.exit_code)
        return self._finish()

    def _round(self):
        """The next round, or the last one again for the side(s) whose answer it lacks (Ctrl-C, a
        failure, --max-time); a caller's side (--as-peer) always gives its text anew."""
        number, kept = self._next_round()
        rounds = self.record["rounds"]
        again = bool(rounds) and rounds[-1]["round"] == number
        if again:
            rounds.pop()
        asked = [side for side in SIDES if side not in kept or isinstance(self.sides[side], CallerSide)]
        asks = {side: self.prompt(side, number) for side in asked}
        self.progress(f"round {number}{' again' if again else ''}: asking {' and '.join(self._peer_names(asked))}")
        entries = self._exchange(asks, {"round": number, **kept})
        if number > 1:
            for side in SIDES:
                entries[side]["converged"] = prompts.converged(entries[side]["text"])
            self.record["converged"] = all(entries[side]["converged"] for side in SIDES)
        self.record["rounds"].append(entries)
        self._save()
        return entries

    def _next_round(self):
        """(number, the answers it already has): a new round, or the last one when a side's answer is missing."""
        rounds = self.record["rounds"]
        if rounds and not all(answered(rounds[-1][side]) for side in SIDES):
            last = rounds[-1]
            return last["round"], {side: last[side] for side in SIDES if answered(last[side])}
        return len(rounds) + 1, {}

    def prompt(self, side, number=None, conclusions=False):
        """What `side` is asked in round `number` (default: the next round), or in the conclusions."""
        if conclusions:
            phase, number = "conclusions", len(self.record["rounds"]) + 1
        else:
            number = number or self._next_round()[0]
            phase = "opening" if number == 1 else "reply"
        return prompts.render(self.templates, phase, self.record["topic"], side, number,
                              self._last_answer(other_side(side), number))

    def _conclusions(self):
        asks = {side: self.prompt(side, conclusions=True) for side in SIDES}
        self.progress(f"conclusions: asking {' and '.join(self._peer_names(SIDES))}")
        self._set_conclusions(self._exchange(asks, {"after_round": len(self.record["rounds"])}))
        self._save()

    def _set_conclusions(self, entries):
        """The new set becomes `conclusions`; an earlier set, after an earlier round, stays in `earlier_conclusions`."""
        previous = self.record["conclusions"]
        if previous and previous["after_round"] != entries["after_round"]:
            self.record["earlier_conclusions"].append(previous)
        self.record["conclusions"] = entries

    def _exchange(self, asks, entries):
        """The sides in `asks` answer at once; returns `entries` with an entry for each. Stops them on Ctrl-C
        or at the deadline (RunStopped, after keeping what they answered)."""
        answers = {}
        workers = [threading.Thread(target=lambda side=side: answers.__setitem__(side, self.sides[side].ask(asks[side])),
                                    name=f"brainstorm-{side}", daemon=True) for side in asks]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                self._join(worker)
        except (KeyboardInterrupt, RunStopped) as stop:
            exit_code = stop.exit_code if isinstance(stop, RunStopped) else EXIT_INTERRUPTED
            for side in asks:
                self.sides[side].interrupt()
            for worker in workers:
                worker.join(STOP_GRACE_SECONDS)
            self._keep(entries, asks, answers, exit_code)
            raise RunStopped(exit_code) from None
        self._keep(entries, asks, answers)
        return entries

    def _join(self, worker):
        while worker.is_alive():
            remaining = None if self.deadline is None else self.deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RunStopped(EXIT_TIMEOUT)
            worker.join(remaining)

    def _keep(self, entries, asks, answers, stopped_with=None):
        """Puts each asked side's answer in `entries` (and a stopped run's partial entries in the record)."""
        for side in asks:
            entries[side] = entry_of(answers.get(side), stopped_with)
            self._note_ids(side, answers.get(side) or {})
        if stopped_with is not None:
            if "round" in entries:
                self.record["rounds"].append(entries)
            else:
                self._set_conclusions(entries)
            self._save()

    def _note_ids(self, side, envelope):
        if side == "codex" and envelope.get("thread_id"):
            self.record["codex_thread_id"] = envelope["thread_id"]
        if side == "claude" and envelope.get("session_id"):
            self.record["claude_session_id"] = envelope["session_id"]

    def _last_answer(self, side, before_round):
        """What `side` said last before round `before_round`: its conclusions after the round before,
        else its latest answer in a round (a missing answer never counts)."""
        for conclusions in all_conclusions(self.record):
            if conclusions["after_round"] == before_round - 1 and answered(conclusions[side]):
                return conclusions[side]["text"]
        for entries in reversed(self.record["rounds"]):
            if entries["round"] < before_round and answered(entries[side]):
                return entries[side]["text"]
        return ""

    def _failed(self, entries):
        return not all(answered(entries[side]) for side in SIDES)

    def _stop(self, exit_code):
        self.record["exit_code"] = exit_code
        self.record["error"] = ("interrupted by the user" if exit_code == EXIT_INTERRUPTED
                                else "the run reached --max-time; both peers were stopped")

    def _finish(self):
        record = self.record
        if record["exit_code"] is None:
            errors = [(side, entry) for entries in record["rounds"][-1:] + [record["conclusions"] or {}]
                      for side, entry in sorted(entries.items()) if side in SIDES and entry["exit_code"] != EXIT_OK]
            record["exit_code"] = errors[0][1]["exit_code"] if errors else EXIT_OK
            if errors:
                record["error"] = "; ".join(f"{side}: {entry.get('error') or entry['status']}" for side, entry in errors)
        record["status"] = STATUS_OF_EXIT.get(record["exit_code"], "failed")
        self._save()
        return record

    def _save(self):
        self.record["totals"] = totals(self.record, self.elapsed_before + int((time.monotonic() - self.started) * 1000))
        self.save(self.record)

    def _peer_names(self, sides):
        return [prompts.NAMES[side] + (" (you)" if isinstance(self.sides[side], CallerSide) else "")
                for side in sides]


def answered(entry):
    return entry["exit_code"] == EXIT_OK


def other_side(side):
    return "claude" if side == "codex" else "codex"


def entry_of(envelope, stopped_with=None):
    """One side's answer in a round: text, turn id, status, metrics (and the error, if any)."""
    if envelope is None:
        envelope = {"status": "failed", "exit_code": 1, "text": "", "error": "the peer did not answer"}
    entry = {"text": envelope.get("text") or "", "turn_id": envelope.get("turn_id"),
             "status": envelope.get("status"), "exit_code": envelope.get("exit_code"),
             "metrics": envelope.get("metrics") or {}}
    if envelope.get("by"):
        entry["by"] = envelope["by"]
    if stopped_with is not None and entry["exit_code"] != EXIT_OK:
        entry["status"], entry["exit_code"] = STATUS_OF_EXIT[stopped_with], stopped_with
        entry["error"] = "stopped: " + ("interrupted by the user" if stopped_with == EXIT_INTERRUPTED
                                        else "the run reached --max-time")
    elif envelope.get("error"):
        entry["error"] = envelope["error"]
    return entry


def all_conclusions(record):
    """Every set of conclusions, oldest first."""
    return record["earlier_conclusions"] + ([record["conclusions"]] if record["conclusions"] else [])


def totals(record, elapsed_ms):
    entries = [round_[side] for round_ in record["rounds"] for side in SIDES]
    entries += [conclusions[side] for conclusions in all_conclusions(record) for side in SIDES]
    metrics = [entry["metrics"] for entry in entries]
    return {"input_tokens": sum(m.get("input_tokens", 0) for m in metrics),
            "output_tokens": sum(m.get("output_tokens", 0) for m in metrics),
            "cost_usd": round(sum(m.get("cost_usd", 0.0) for m in metrics), 9),
            "elapsed_ms": elapsed_ms}
