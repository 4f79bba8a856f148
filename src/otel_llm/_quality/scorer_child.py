"""The scorer process's side (`OTEL_LLM_SCORER_PROCESS`): a `Scorer` answering batches on its stdin/stdout
(one end of a socket pair).

Started by `process_scorer.ProcessScorer` as `python -I -c BOOTSTRAP`: the bootstrap reads the parent's
`sys.path` (one JSON frame) and calls `serve()`. Then every frame is a pickle: first the settings, then
`(calls, free_only)` per batch; each answer carries the scores, the CPU seconds the batch cost this
process (all its threads) and the failures reported meanwhile, which the parent logs and counts as its
own. Ends at end of input (the parent closed its end, or is gone) or when its parent changes.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import struct
import sys
import threading
import time
from typing import IO, Any

LENGTH = struct.Struct(">Q")

BOOTSTRAP = """import json, struct, sys
n = struct.unpack(">Q", sys.stdin.buffer.read(8))[0]
sys.path[:] = json.loads(sys.stdin.buffer.read(n))
from otel_llm._quality.scorer_child import serve
serve()
"""

PARENT_CHECK_S = 1.0


def read_frame(stream: IO[bytes]) -> Any:
    """The next pickled frame of `stream`; EOFError at its end (or in the middle of a frame)."""
    header = stream.read(LENGTH.size)
    if len(header) < LENGTH.size:
        raise EOFError
    (size,) = LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return LENGTH.pack(len(data)) + data


class _Failures(logging.Handler):
    """What `otel_llm._failures` reports in this process, kept for the next answer: the counter's
    attributes and the log lines (formatted here, by the same content rules as in the parent)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: list[dict[str, str]] = []
        self.lines: list[tuple[int, str]] = []
        self.setFormatter(logging.Formatter("%(message)s"))

    def add(self, amount: int, attributes: dict[str, str] | None = None) -> None:  # the counter's API
        self.counts.extend(dict(attributes or {}) for _ in range(amount))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, self.format(record)))

    def drain(self) -> tuple[list[dict[str, str]], list[tuple[int, str]]]:
        counts, lines = self.counts, self.lines
        self.counts, self.lines = [], []
        return counts, lines


def _watch_parent(parent: int) -> None:
    """Exit when the parent is gone even if someone else still holds our stdin (a fork of the app)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="otel-llm-parent-watch", daemon=True).start()


def lower_process_priority(nice: int) -> None:
    """Raise this process's niceness to `nice` before any other thread starts (they inherit it)."""
    if nice <= 0 or not hasattr(os, "nice"):
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
        if current < nice:
            os.nice(min(nice, 19) - current)
    except OSError:
        pass


def serve() -> None:
    """The scorer process's loop (see the module docstring)."""
    from .. import _failures as failures

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the app's to handle; its exit ends us
    source = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the answers
    sys.stdout = sys.stderr
    parent = os.getppid()
    try:
        settings = read_frame(source)
    except EOFError:
        return
    lower_process_priority(settings.worker_nice)  # first: the threads started from here on inherit it
    _watch_parent(parent)
    failures.set_capture_content(settings.capture_content or None)
    collected = _Failures()
    failures._counter = collected  # type: ignore[assignment]  # counted by the parent, on its meter provider
    log = logging.getLogger("otel_llm")
    log.addHandler(collected)
    log.setLevel(logging.INFO)  # the parent's logging configuration decides what is shown
    log.propagate = False

    def answer(*message: Any) -> None:
        try:
            data = frame((*message, collected.drain()))
        except Exception as exc:  # a custom evaluator's score that does not pickle: the batch is lost
            failures.report_failure("scorer process", exc)
            data = frame((message[0], *(None for _ in message[1:]), collected.drain()))
        answers.write(data)
        answers.flush()

    scorer: Any = None
    try:
        from .scoring import Scorer

        scorer = Scorer(settings)
        scorer.load()
    except Exception as exc:
        failures.report_failure("scorer", exc)
        scorer = None  # the parent scores in its own thread instead
    try:
        if scorer is None:
            answer("failed")
            return
        answer("ready", scorer.backends.name)
        _answer_batches(scorer, source, answer)
    except OSError:  # the parent closed its end: nobody to answer
        return


def _answer_batches(scorer: Any, source: IO[bytes], answer: Any) -> None:
    from .._failures import report_failure

    while True:
        try:
            calls, free_only = read_frame(source)
        except EOFError:
            return
        except Exception as exc:  # a frame read whole that does not unpickle here: that batch is lost
            report_failure("scorer process", exc)
            answer("scores", None, 0.0)
            continue
        start = time.process_time()
        try:
            results: list | None = scorer.score_many(calls, free_only=free_only)
        except Exception as exc:
            report_failure("scoring", exc)
            results = None
        answer("scores", results, time.process_time() - start)
