"""Opt-in resolution of application inference profile ARNs to their foundation model, off the hot path.

A call naming an unresolved ARN is recorded with what is known and queues the ARN; a background
thread asks `GetInferenceProfile` once (instrumentation suppressed) and later calls use the cached
answer. The control-plane endpoint follows boto3's own settings (e.g. `AWS_ENDPOINT_URL_BEDROCK`).
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from .._failures import report_failure

_PROFILE_MARKER = ":application-inference-profile/"
_UNRESOLVED = ""  # cached for an ARN the lookup could not resolve: asked once, never again


def is_application_profile(model_id: str) -> bool:
    """True for an application inference profile ARN."""
    return model_id.startswith("arn:") and _PROFILE_MARKER in model_id


class InferenceProfileResolver:
    """Cached ARN -> base model id; misses are resolved by one daemon thread."""

    def __init__(self, timeout_s: float = 5.0) -> None:
        self._timeout_s = timeout_s
        self._cache: dict[str, str] = {}
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[str | threading.Event | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._clients: dict[str, Any] = {}
        if hasattr(os, "register_at_fork"):  # the worker thread does not survive a fork: start afresh
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._queue = queue.SimpleQueue()
        self._queued = set(self._cache)
        self._thread = None
        self._clients = {}

    def cached(self, arn: str) -> str | None:
        """The model id behind `arn` if already known; otherwise queue its lookup and return None."""
        found = self._cache.get(arn)
        if found is not None:
            return found or None
        with self._lock:
            if arn not in self._queued:
                self._queued.add(arn)
                self._queue.put(arn)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="otel-llm-profiles", daemon=True)
                    self._thread.start()
        return None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued ARN has an answer (for tests and shutdown); True if so."""
        done = threading.Event()
        self._queue.put(done)
        with self._lock:
            if self._thread is None:
                return True
        return done.wait(timeout)

    def stop(self) -> None:
        """Let the worker thread end."""
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
            else:
                self._cache[item] = self._lookup(item)

    def _lookup(self, arn: str) -> str:
        try:
            region = arn.split(":")[3]
            with suppress_instrumentation():
                answer = self._client(region).get_inference_profile(inferenceProfileIdentifier=arn)
            model_arn = answer["models"][0]["modelArn"]
            return model_arn.rsplit("/", 1)[-1]
        except Exception as exc:
            report_failure("instrumentation.profiles", exc)
            return _UNRESOLVED

    def _client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=self._timeout_s, read_timeout=self._timeout_s,
                            retries={"max_attempts": 1})
            client = self._clients[region] = boto3.client("bedrock", region_name=region, config=config)
        return client
