"""`ProcessScorer` (`OTEL_LLM_SCORER_PROCESS`): the default `Scorer`, run in a child process so scoring
never shares the app's GIL.

The child is `python -I -c BOOTSTRAP` (not multiprocessing: spawn and forkserver re-import the app's
`__main__`), given the app's `sys.path` without OpenTelemetry's auto-instrumentation directory and
`OTEL_SDK_DISABLED=true`: it never instruments itself. Text goes to it, and only to it, over a
socket pair (its stdin and stdout; local, never a network).
Every wait on it is bounded: a child that does not answer a batch in time is killed (the batch is lost:
`score_many` raises, and the processor counts it failed) and the next batch starts a new one, at most
`MAX_RESTARTS` times; after that, or where no child can run (Windows, an embedded interpreter), batches
are scored in the calling thread, as without this setting (logged once, counted as a failure).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from .. import _failures as failures, _instruments as names
from .._config import Settings, _parse_bool
from .._failures import report_failure
from ..record import LLMCall, Scores
from .evaluators.registry import build_evaluators
from .scorer_child import BOOTSTRAP, LENGTH, frame

logger = logging.getLogger("otel_llm")

START_TIMEOUT_S = 60.0  # starting the child and loading the model (at the lowest priority, on a busy host)
BATCH_TIMEOUT_S = 60.0  # one batch, sent and answered
MAX_RESTARTS = 3  # children started after the first, in the scorer's life; then in-thread scoring
CLOSE_WAIT_S = 1.0


class ScorerProcessError(RuntimeError):
    """The child failed a batch or could not start; the message never quotes content."""

    content_free = True


class BatchFailed(ScorerProcessError):
    """The child answered that it could not score the batch (it reported why): it stays up."""


def child_path(path: Sequence[str] = ()) -> list[str]:
    """`path` (default `sys.path`) without OpenTelemetry's auto-instrumentation directory."""
    return [p for p in (path or sys.path)
            if not (os.path.basename(os.path.normpath(p)) == "auto_instrumentation"
                    and os.path.isfile(os.path.join(p, "sitecustomize.py")))]


def can_run_child() -> str | None:
    """Why no scorer process can run here, or None."""
    if sys.platform == "win32":
        return "no scorer process on Windows (not supported there)"
    name = os.path.basename(sys.executable or "").lower()
    # uWSGI, mod_wsgi, a frozen or embedding app: sys.executable is not an interpreter to run
    if getattr(sys, "frozen", False) or not name.startswith(("python", "pypy")):
        return "sys.executable is not a Python interpreter"
    return None



def wanted(settings: Settings) -> bool:
    """`OTEL_LLM_SCORER_PROCESS` decided: `auto` means the backend is `local` (or `auto` resolving to it)."""
    value = settings.scorer_process.strip().lower()
    if value != "auto":
        try:
            return _parse_bool(value)
        except ValueError:
            logger.warning("otel-llm: ignoring OTEL_LLM_SCORER_PROCESS=%r; using auto", value)
    from .._backends import backend_choice

    return backend_choice(settings) == "local"

class ProcessScorer:
    """A `CallScorer` whose scoring runs in a child process. Used from one thread at a time (the
    processor's worker); `close()` may come from any thread. `loading()` wraps starting the child, and its
    batches when it runs the local model (the processor's accounting of model time at exit)."""

    def __init__(self, settings: Settings,
                 loading: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
                 start_timeout_s: float = START_TIMEOUT_S, batch_timeout_s: float = BATCH_TIMEOUT_S,
                 max_restarts: int = MAX_RESTARTS) -> None:
        self.settings = settings
        self.evaluators = build_evaluators(settings)  # the recorder's histograms; scoring is the child's
        self.last_cpu_s: float | None = None  # CPU seconds the child spent on the last batch
        self._loading = loading
        self._start_timeout_s = start_timeout_s
        self._batch_timeout_s = batch_timeout_s
        self._starts_left = 1 + max(0, max_restarts)
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None  # our end of the child's stdin and stdout
        self._child_backend: str | None = None
        self._fallback: Any = None  # the in-thread Scorer, once the child is given up
        self._lock = threading.Lock()
        self._closed = False
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_child(ref))

    @property
    def backends(self) -> Any:
        """The in-thread scorer's backends once fallen back; None while the child scores (the processor
        then neither waits for a batch at exit nor multiplies CPU by inference threads)."""
        return getattr(self._fallback, "backends", None)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def load(self) -> None:
        """Start the child now (the processor calls this on its worker, as `Scorer.load`)."""
        with self._lock:
            self._ensure_scorer()

    def score_many(self, calls: Sequence[LLMCall], free_only: bool = False) -> list[Scores]:
        with self._lock:
            self.last_cpu_s = None
            self._ensure_scorer()
            if self._fallback is not None:
                results: list[Scores] = self._fallback.score_many(calls, free_only=free_only)
                return results
            local = self._loading() if self._child_backend == "local" else contextlib.nullcontext()
            with local:
                try:
                    return self._round_trip(calls, free_only)
                except BatchFailed:
                    raise
                except BaseException:
                    self._stop_child()  # its state is unknown: the next batch starts a new one
                    raise

    def close(self) -> None:
        """Stop the child (from any thread): end of input if it is idle, else killed. Idempotent."""
        self._closed = True
        if self._lock.acquire(blocking=False):
            try:
                self._stop_child()
            finally:
                self._lock.release()
        else:  # mid-batch on another thread: that thread's read ends with the child
            proc = self._proc
            if proc is not None:
                with contextlib.suppress(OSError):
                    proc.kill()

    # --- the child (under self._lock) ---------------------------------------------------------
    def _ensure_scorer(self) -> None:
        if self._fallback is not None or (self._proc is not None and self._proc.poll() is None):
            return
        self._stop_child()
        if self._closed:
            raise ScorerProcessError("the scorer process was closed")
        reason = can_run_child()
        last: BaseException | None = ScorerProcessError(reason) if reason else None
        while reason is None and self._starts_left > 0:
            self._starts_left -= 1
            try:
                with self._loading():
                    self._start_child()
                return
            except Exception as exc:
                last = exc
                self._stop_child()
                if self._starts_left:
                    report_failure("scorer process", exc)
        self._fall_back(last)

    def _fall_back(self, cause: BaseException | None) -> None:
        from .scoring import Scorer

        report_failure("scorer process fallback", ScorerProcessError(
            f"scoring in-thread from now on ({type(cause).__name__ if cause else 'no child'})"))
        with self._loading():
            scorer = Scorer(self.settings)
            scorer.load()
        self._fallback = scorer

    def _start_child(self) -> None:
        env = {**os.environ, "OTEL_SDK_DISABLED": "true"}
        env.pop("PYTHONPATH", None)  # -I ignores it too
        # A socket pair, not pipes: sending to a dead child must raise, never SIGPIPE the app (which may
        # have restored the signal's default action), and waits on it have no descriptor-number limit.
        ours, theirs = socket.socketpair()
        try:
            self._sock = ours
            if hasattr(socket, "SO_NOSIGPIPE"):  # macOS has no MSG_NOSIGNAL
                ours.setsockopt(socket.SOL_SOCKET, socket.SO_NOSIGPIPE, 1)
            self._proc = subprocess.Popen([sys.executable, "-I", "-c", BOOTSTRAP], stdin=theirs.fileno(),
                                          stdout=theirs.fileno(), env=env, close_fds=True)
        finally:
            theirs.close()
        path = json.dumps(child_path()).encode()
        deadline = time.monotonic() + self._start_timeout_s
        self._send(LENGTH.pack(len(path)) + path + frame(_portable_settings(self.settings)), deadline)
        kind, *rest = self._receive(deadline)
        if kind != "ready":
            raise ScorerProcessError("the scorer process could not load the scorer")
        self._child_backend = rest[0]

    def _round_trip(self, calls: Sequence[LLMCall], free_only: bool) -> list[Scores]:
        deadline = time.monotonic() + self._batch_timeout_s
        self._send(frame(([_portable(c) for c in calls], free_only)), deadline)
        kind, results, cpu_s = self._receive(deadline)
        self.last_cpu_s = cpu_s
        if kind != "scores":
            raise ScorerProcessError(f"the scorer process answered {kind!r}")
        if results is None:
            raise BatchFailed("the scorer process failed the batch")
        return list(results)

    def _send(self, data: bytes, deadline: float) -> None:
        assert self._sock is not None
        try:
            self._sock.settimeout(max(0.001, _left(deadline)))
            self._sock.sendall(data, _NO_SIGNAL)
        except TimeoutError as exc:
            raise ScorerProcessError("the scorer process did not take its input in time") from exc
        except OSError as exc:  # EPIPE, ECONNRESET: it is gone
            raise ScorerProcessError("the scorer process is gone") from exc

    def _receive(self, deadline: float) -> Any:
        """The child's next answer; the failures it reported meanwhile are logged and counted here."""
        header = self._read(LENGTH.size, deadline)
        (size,) = LENGTH.unpack(header)
        *answer, (counts, lines) = pickle.loads(self._read(size, deadline))
        for attributes in counts:
            attributes = dict(attributes)
            failures.count_event(attributes.pop(names.ATTR_COMPONENT, "scorer process"),
                                 attributes.pop(names.ATTR_ERROR_TYPE, "unknown"), attributes)
        for level, line in lines:
            failures.logger.log(level, "%s (in the scorer process)", line)
        return answer

    def _read(self, size: int, deadline: float) -> bytes:
        assert self._sock is not None
        chunks: list[bytes] = []
        while size:
            try:
                self._sock.settimeout(max(0.001, _left(deadline)))
                chunk = self._sock.recv(min(size, 1 << 20))
            except TimeoutError as exc:
                raise ScorerProcessError("the scorer process did not answer in time") from exc
            except OSError as exc:
                raise ScorerProcessError("the scorer process is gone") from exc
            if not chunk:
                raise ScorerProcessError("the scorer process is gone")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _stop_child(self) -> None:
        proc, self._proc = self._proc, None
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()  # end of input: an idle child exits at once
        if proc is None:
            return
        try:
            proc.wait(CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(CLOSE_WAIT_S)


def _forget_child(ref: weakref.ref[ProcessScorer]) -> None:
    """After `os.fork()` in the app: the child belongs to the parent. Close our copy of its socket
    (so it still sees the parent's end of input) and start our own when needed, with a fresh lock."""
    scorer = ref()
    if scorer is None:
        return
    proc, scorer._proc = scorer._proc, None
    sock, scorer._sock = scorer._sock, None
    scorer._lock = threading.Lock()
    scorer._starts_left = max(scorer._starts_left, 1)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()  # our copy of the descriptor only
    if proc is not None:
        proc.returncode = 0  # not ours to wait for or kill


_NO_SIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _portable(call: LLMCall) -> LLMCall:
    """What the child needs of `call`, as a plain `LLMCall` (a redactor may return a subclass the child
    cannot import): no span context, only plain values in `extra`."""
    import dataclasses

    values = {f.name: getattr(call, f.name) for f in dataclasses.fields(LLMCall)}
    values["extra"] = {k: v for k, v in call.extra.items() if isinstance(v, str | int | float | bool | None)}
    values["span_context"] = None
    return LLMCall(**values)


def _portable_settings(settings: Settings) -> Settings:
    """The child scores what the parent already redacted: a redactor given as a callable stays here."""
    import dataclasses

    return dataclasses.replace(settings, redactor=None)
