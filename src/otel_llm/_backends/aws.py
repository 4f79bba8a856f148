"""The `aws` backend: Amazon Titan Text Embeddings v2 through bedrock-runtime, Amazon Comprehend sentiment and
toxicity. Every backend call (one `embed`, `sentiment` or `toxicity` of a batch) is bounded end to end by one
budget, `OTEL_LLM_BACKEND_TIMEOUT_S` (requests, retries on throttling and server errors, backoff and
waiting together), passes a circuit breaker per service, runs on daemon threads the interpreter never
waits for, and is made under `suppress_instrumentation()` so the SDK never traces or scores its own calls.

Input limits respected: Titan takes one text per call (up to 50,000 characters); Comprehend real-time
sentiment reads only the first 500 characters of a document, so a text is cut into 500-character chunks
(at most `MAX_SENTIMENT_CHUNKS`, i.e. the first 4,000 characters count) whose scores are averaged by length;
DetectToxicContent takes at most 10 segments of 1 KB of UTF-8 per request, so a text is cut on UTF-8
boundaries (at most `MAX_TOXICITY_SEGMENTS`, i.e. its first 10 KB count) and scored by its worst segment.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from opentelemetry.instrumentation.utils import suppress_instrumentation

from .._config import Settings
from .base import Backends, SentimentResult, ToxicityResult, well_formed
from .resilience import BackendUnavailable, CircuitBreaker, Deadline, backoff_s, run_bounded

TITAN_MAX_CHARS = 50_000
SENTIMENT_BATCH = 25
SENTIMENT_CHUNK_CHARS = 500
MAX_SENTIMENT_CHUNKS = 8
TOXICITY_SEGMENT_BYTES = 1024
TOXICITY_SEGMENTS_PER_REQUEST = 10
MAX_TOXICITY_SEGMENTS = 10
TOXIC_CATEGORY_THRESHOLD = 0.5
MAX_ATTEMPTS = 4  # per request, all within the call's budget (OTEL_LLM_BACKEND_TIMEOUT_S)
RETRYABLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "ServiceUnavailableException",
                             "InternalServerException", "ModelNotReadyException", "RequestLimitExceeded",
                             "ServiceQuotaExceededException", "Throttling", "InternalServerError"})
EMBEDDING_THREADS = 4
LANGUAGE = "en"  # DetectToxicContent supports English only


def make_aws_backends(settings: Settings) -> Backends:
    """Titan embeddings + Comprehend sentiment and toxicity, configured from `settings`."""
    comprehend = _Client("comprehend", settings, settings.comprehend_endpoint_url)  # one breaker for both
    return Backends(embeddings=TitanEmbeddings(settings), sentiment=ComprehendSentiment(settings, comprehend),
                    toxicity=ComprehendToxicity(settings, comprehend), name="aws")


class _Client:
    """A boto3 client made lazily, once per process (a client must not cross a fork: its sockets would),
    and the circuit breaker of the service behind it.

    botocore does not retry: `call` does, with jittered backoff, inside the deadline it is given, so
    attempts, backoff and waiting share one budget. Socket timeouts are the budget too, so a request left
    running past its deadline (on a daemon thread) ends by itself soon after.
    """

    def __init__(self, service: str, settings: Settings, endpoint_url: str | None, pool: int = 10) -> None:
        self._service, self._settings, self._endpoint_url, self._pool = service, settings, endpoint_url, pool
        self._lock = threading.Lock()
        self._client: Any = None
        self._pid = 0
        self.breaker = CircuitBreaker(service, settings.breaker_failures, settings.breaker_cooldown_s)

    def get(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    self._client, self._pid = self._make(), os.getpid()
        return self._client

    def _make(self) -> Any:
        import boto3
        from botocore.config import Config

        timeout = max(0.1, self._settings.backend_timeout_s)
        config = Config(connect_timeout=timeout, read_timeout=timeout, max_pool_connections=self._pool,
                        retries={"mode": "standard", "total_max_attempts": 1})
        return boto3.session.Session().client(self._service, region_name=self._settings.aws_region,
                                              endpoint_url=self._endpoint_url, config=config)

    def bounded(self, tasks: Sequence[Callable[[Deadline], Any]], parallel: int = 1) -> list[Any]:
        """Run `tasks` (`parallel` at a time, on daemon threads) within one budget, through the breaker."""
        if not self.breaker.allow():
            raise BackendUnavailable(f"{self._service}: circuit breaker open")
        deadline = Deadline(self._settings.backend_timeout_s)
        try:
            result = run_bounded([functools.partial(task, deadline) for task in tasks], deadline, parallel)
        except BackendUnavailable:
            self.breaker.failed()
            raise
        except BaseException:
            self.breaker.succeeded()  # the service answered; the request itself was wrong
            raise
        self.breaker.succeeded()
        return result

    def call(self, deadline: Deadline, operation: str, **kwargs: Any) -> Any:
        """`client.<operation>(**kwargs)`, invisible to every OTel instrumentation, retried on throttling,
        server and connection errors while `deadline` allows; `BackendUnavailable` when it gave up."""
        from botocore.exceptions import BotoCoreError, ClientError

        attempt = 0
        while True:
            attempt += 1
            try:
                with suppress_instrumentation():
                    return getattr(self.get(), operation)(**kwargs)
            except ClientError as exc:
                if not _retryable(exc):
                    raise
                last: Exception = exc
            except BotoCoreError as exc:  # connection refused, timeouts, broken responses
                last = exc
            pause = backoff_s(attempt)
            if attempt >= MAX_ATTEMPTS or deadline.remaining() <= pause:
                raise BackendUnavailable(f"{self._service} {operation} failed after {attempt} attempt(s): "
                                         f"{type(last).__name__}") from last
            time.sleep(pause)


def _retryable(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return error.get("Code") in RETRYABLE_CODES or status >= 500 or status == 429


class TitanEmbeddings:
    """Amazon Titan Text Embeddings through bedrock-runtime InvokeModel, a few texts in parallel."""

    name = "aws-titan"

    def __init__(self, settings: Settings | None = None, threads: int = EMBEDDING_THREADS) -> None:
        self.settings = settings or Settings.from_env()
        self.model_id = self.settings.embedding_model_id
        self.dimensions = self.settings.embedding_dimensions
        self._threads = max(1, threads)
        self._client = _Client("bedrock-runtime", self.settings, self.settings.bedrock_endpoint_url,
                               pool=self._threads)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # Daemon threads per call (never joined at exit, fork-safe); the first failure stops the rest.
        tasks = [functools.partial(self._embed_one, text) for text in texts]
        done = self._client.bounded(tasks, parallel=self._threads)
        rows = np.asarray(done, dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms > 0, norms, 1.0)

    def _embed_one(self, text: str, deadline: Deadline) -> list[float]:
        if not text.strip():
            return [0.0] * self.dimensions  # Titan rejects empty input; an empty text is similar to nothing
        body: dict[str, Any] = {"inputText": well_formed(text)[:TITAN_MAX_CHARS]}
        if "v2" in self.model_id:
            body.update(dimensions=self.dimensions, normalize=self.settings.embedding_normalize)
        response = self._client.call(deadline, "invoke_model", modelId=self.model_id, body=json.dumps(body),
                                     contentType="application/json", accept="application/json")
        return json.loads(response["body"].read())["embedding"]


class ComprehendSentiment:
    """Amazon Comprehend BatchDetectSentiment, 25 chunks per request; score = Positive - Negative."""

    name = "aws-comprehend"

    def __init__(self, settings: Settings | None = None, client: _Client | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._client = client or _Client("comprehend", self.settings, self.settings.comprehend_endpoint_url)

    def sentiment(self, texts: Sequence[str]) -> list[SentimentResult]:
        if not any(t.strip() for t in texts):
            return self._sentiment(texts, Deadline(0.0))
        return self._client.bounded([functools.partial(self._sentiment, texts)])[0]

    def _sentiment(self, texts: Sequence[str], deadline: Deadline) -> list[SentimentResult]:
        owners, chunks = _pieces(texts, SENTIMENT_CHUNK_CHARS, MAX_SENTIMENT_CHUNKS, unit="chars")
        totals: list[dict[str, float]] = [{} for _ in texts]
        for start in range(0, len(chunks), SENTIMENT_BATCH):
            batch = chunks[start:start + SENTIMENT_BATCH]
            response = self._client.call(deadline, "batch_detect_sentiment", TextList=batch,
                                         LanguageCode=LANGUAGE)
            for item in response.get("ResultList", []):
                index = start + item["Index"]
                weight = float(len(chunks[index]))
                total = totals[owners[index]]
                for label, value in item["SentimentScore"].items():
                    total[label] = total.get(label, 0.0) + weight * float(value)
        results = []
        for text, total in zip(texts, totals, strict=True):
            if not total:
                if text.strip():
                    raise RuntimeError("Comprehend returned no sentiment for a text")
                results.append(SentimentResult(0.0, "neutral"))
                continue
            weight = sum(total.values()) or 1.0
            score = (total.get("Positive", 0.0) - total.get("Negative", 0.0)) / weight
            label = max(total, key=total.__getitem__).lower()
            results.append(SentimentResult(max(-1.0, min(1.0, score)), label))
        return results


class ComprehendToxicity:
    """Amazon Comprehend DetectToxicContent; a text's score is its highest category over its segments."""

    name = "aws-comprehend"

    def __init__(self, settings: Settings | None = None, client: _Client | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._client = client or _Client("comprehend", self.settings, self.settings.comprehend_endpoint_url)

    def toxicity(self, texts: Sequence[str]) -> list[ToxicityResult]:
        if not any(t.strip() for t in texts):
            return self._toxicity(texts, Deadline(0.0))
        return self._client.bounded([functools.partial(self._toxicity, texts)])[0]

    def _toxicity(self, texts: Sequence[str], deadline: Deadline) -> list[ToxicityResult]:
        owners, segments = _pieces(texts, TOXICITY_SEGMENT_BYTES, MAX_TOXICITY_SEGMENTS, unit="bytes")
        scores = [0.0] * len(texts)
        categories: list[set[str]] = [set() for _ in texts]
        for start in range(0, len(segments), TOXICITY_SEGMENTS_PER_REQUEST):
            batch = segments[start:start + TOXICITY_SEGMENTS_PER_REQUEST]
            response = self._client.call(deadline, "detect_toxic_content",
                                         TextSegments=[{"Text": s} for s in batch], LanguageCode=LANGUAGE)
            for offset, item in enumerate(response["ResultList"]):
                owner = owners[start + offset]
                labels = item.get("Labels", [])
                worst = max([float(item.get("Toxicity", 0.0))] + [float(label["Score"]) for label in labels])
                scores[owner] = max(scores[owner], worst)
                categories[owner].update(label["Name"].lower() for label in labels
                                         if float(label["Score"]) >= TOXIC_CATEGORY_THRESHOLD)
        return [ToxicityResult(min(1.0, score), tuple(sorted(cats)))
                for score, cats in zip(scores, categories, strict=True)]


def split_text(text: str, limit: int, max_parts: int, unit: str = "bytes") -> list[str]:
    """Cut `text` into at most `max_parts` pieces of at most `limit` UTF-8 bytes (or characters), never
    inside a character and, where one is near, at a space. Whatever lies past `max_parts` is left out.
    Lone surrogates (invalid UTF-8) become U+FFFD, so a bad character never costs the text its score."""
    parts: list[str] = []
    rest = well_formed(text)
    while rest.strip() and len(parts) < max_parts:
        piece = rest[:limit]
        if unit == "bytes":
            piece = piece.encode("utf-8")[:limit].decode("utf-8", "ignore")  # drops a cut character
        if len(piece) < len(rest):
            space = max(piece.rfind(" "), piece.rfind("\n"))
            if space > len(piece) // 2:
                piece = piece[:space + 1]
        rest = rest[len(piece):]
        if piece.strip():
            parts.append(piece)
    return parts


def _pieces(texts: Sequence[str], limit: int, max_parts: int, unit: str) -> tuple[list[int], list[str]]:
    """All texts' pieces (see `split_text`) in one flat list, with the index of the text each came from."""
    owners: list[int] = []
    pieces: list[str] = []
    for i, text in enumerate(texts):
        for piece in split_text(text or "", limit, max_parts, unit):
            owners.append(i)
            pieces.append(piece)
    return owners, pieces
