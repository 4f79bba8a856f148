"""The `aws` backend: Amazon Titan Text Embeddings v2 through bedrock-runtime, Amazon Comprehend sentiment and
toxicity. Every call is bounded in time, retried on throttling a bounded number of times, and made under
`suppress_instrumentation()` so the SDK never traces or scores its own backend calls.

Input limits respected: Titan takes one text per call (up to 50,000 characters); Comprehend real-time
sentiment reads only the first 500 characters of a document, so a text is cut into 500-character chunks
(at most `MAX_SENTIMENT_CHUNKS`, i.e. the first 4,000 characters count) whose scores are averaged by length;
DetectToxicContent takes at most 10 segments of 1 KB of UTF-8 per request, so a text is cut on UTF-8
boundaries (at most `MAX_TOXICITY_SEGMENTS`, i.e. its first 10 KB count) and scored by its worst segment.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from opentelemetry.instrumentation.utils import suppress_instrumentation

from .._config import Settings
from .base import Backends, SentimentResult, ToxicityResult, well_formed

TITAN_MAX_CHARS = 50_000
SENTIMENT_BATCH = 25
SENTIMENT_CHUNK_CHARS = 500
MAX_SENTIMENT_CHUNKS = 8
TOXICITY_SEGMENT_BYTES = 1024
TOXICITY_SEGMENTS_PER_REQUEST = 10
MAX_TOXICITY_SEGMENTS = 10
TOXIC_CATEGORY_THRESHOLD = 0.5
MAX_ATTEMPTS = 4
EMBEDDING_THREADS = 4
LANGUAGE = "en"  # DetectToxicContent supports English only


def make_aws_backends(settings: Settings) -> Backends:
    """Titan embeddings + Comprehend sentiment and toxicity, configured from `settings`."""
    return Backends(embeddings=TitanEmbeddings(settings), sentiment=ComprehendSentiment(settings),
                    toxicity=ComprehendToxicity(settings), name="aws")


class _Client:
    """A boto3 client made lazily, once per process (a client must not cross a fork: its sockets would)."""

    def __init__(self, service: str, settings: Settings, endpoint_url: str | None, pool: int = 10) -> None:
        self._service, self._settings, self._endpoint_url, self._pool = service, settings, endpoint_url, pool
        self._lock = threading.Lock()
        self._client: Any = None
        self._pid = 0

    def get(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    self._client, self._pid = self._make(), os.getpid()
        return self._client

    def _make(self) -> Any:
        import boto3
        from botocore.config import Config

        timeout = self._settings.backend_timeout_s
        config = Config(connect_timeout=timeout, read_timeout=timeout, max_pool_connections=self._pool,
                        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS})
        return boto3.session.Session().client(self._service, region_name=self._settings.aws_region,
                                              endpoint_url=self._endpoint_url, config=config)

    def call(self, operation: str, **kwargs: Any) -> Any:
        """`client.<operation>(**kwargs)`, invisible to every OTel instrumentation."""
        with suppress_instrumentation():
            return getattr(self.get(), operation)(**kwargs)


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
        # A pool per call: short-lived threads cost little next to a network call and survive fork.
        with ThreadPoolExecutor(min(self._threads, len(texts)), thread_name_prefix="otel-llm-titan") as pool:
            futures = []
            for text in texts:
                try:
                    futures.append(pool.submit(self._embed_one, text))
                except RuntimeError:  # the interpreter is exiting (last flush): no new threads, go one by one
                    break
            done = [f.result() for f in futures] + [self._embed_one(t) for t in texts[len(futures):]]
        rows = np.asarray(done, dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms > 0, norms, 1.0)

    def _embed_one(self, text: str) -> list[float]:
        if not text.strip():
            return [0.0] * self.dimensions  # Titan rejects empty input; an empty text is similar to nothing
        body: dict[str, Any] = {"inputText": well_formed(text)[:TITAN_MAX_CHARS]}
        if "v2" in self.model_id:
            body.update(dimensions=self.dimensions, normalize=self.settings.embedding_normalize)
        response = self._client.call("invoke_model", modelId=self.model_id, body=json.dumps(body),
                                     contentType="application/json", accept="application/json")
        return json.loads(response["body"].read())["embedding"]


class ComprehendSentiment:
    """Amazon Comprehend BatchDetectSentiment, 25 chunks per request; score = Positive - Negative."""

    name = "aws-comprehend"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._client = _Client("comprehend", self.settings, self.settings.comprehend_endpoint_url)

    def sentiment(self, texts: Sequence[str]) -> list[SentimentResult]:
        owners, chunks = _pieces(texts, SENTIMENT_CHUNK_CHARS, MAX_SENTIMENT_CHUNKS, unit="chars")
        totals: list[dict[str, float]] = [{} for _ in texts]
        for start in range(0, len(chunks), SENTIMENT_BATCH):
            batch = chunks[start:start + SENTIMENT_BATCH]
            response = self._client.call("batch_detect_sentiment", TextList=batch, LanguageCode=LANGUAGE)
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

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self._client = _Client("comprehend", self.settings, self.settings.comprehend_endpoint_url)

    def toxicity(self, texts: Sequence[str]) -> list[ToxicityResult]:
        owners, segments = _pieces(texts, TOXICITY_SEGMENT_BYTES, MAX_TOXICITY_SEGMENTS, unit="bytes")
        scores = [0.0] * len(texts)
        categories: list[set[str]] = [set() for _ in texts]
        for start in range(0, len(segments), TOXICITY_SEGMENTS_PER_REQUEST):
            batch = segments[start:start + TOXICITY_SEGMENTS_PER_REQUEST]
            response = self._client.call("detect_toxic_content", TextSegments=[{"Text": s} for s in batch],
                                         LanguageCode=LANGUAGE)
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
