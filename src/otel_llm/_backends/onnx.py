"""all-MiniLM-L6-v2 without torch: the int8 (per-channel) ONNX model shipped in `otel_llm._weights`, its
layer norms and Gelu fused into ONNX Runtime's BERT kernels (SkipLayerNormalization, BiasGelu), run by
ONNX Runtime with `tokenizers` (faster, releases the GIL) or, without it, the same word pieces in plain
Python (`wordpiece.py`). Built from the packaged safetensors weights by
`scripts/build_onnx_model.py`; sha256-verified at load; no hub, no network."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .._weights import MODELS_DIR
from .local import ModelIntegrityError, _installed

logger = logging.getLogger("otel_llm")

MANIFEST = MODELS_DIR / "minilm-int8.json"
DIMENSIONS = 384
_INSTALL_HINT = "install the `lambda` extra: pip install 'otel-llm[lambda]'"


def onnx_available() -> bool:
    """True when onnxruntime (and VADER, for the sentiment head) are installed and the model ships with the
    package. Imports nothing."""
    return (all(_installed(name) for name in ("onnxruntime", "vaderSentiment"))
            and MANIFEST.is_file())


def model_checksum() -> str:
    """The sha256 the manifest records for the shipped model (verified against the file at load)."""
    return str(json.loads(MANIFEST.read_text())["model_sha256"])


def _verified(path: Path, expected: str) -> Path:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelIntegrityError(f"{path} has sha256 {digest.hexdigest()}, expected {expected}: reinstall "
                                  "otel-llm (scripts/build_onnx_model.py rebuilds it)")
    return path


class OnnxEmbeddings:
    """L2-normalised float32 MiniLM sentence embeddings from ONNX Runtime, loaded on first use, thread-safe.

    Texts are cut at `max_seq_length` word pieces and run one at a time, each on one thread: int8
    activations are scaled per run, so a text batched with others (and their padding) would get a slightly
    different vector; alone it always gets the same one, and it measured closer to float32 and no slower on
    long texts. `num_threads` (default 1) is how many texts of one `embed` call run at once: on the
    calling thread and `num_threads - 1` threads of this object's own. It changes nothing else in the
    process (not torch's threads, not another session's) nor any vector, and it measured more pairs per
    CPU-second than ONNX Runtime's intra-op threads. `batch_size` is accepted for symmetry and unused.
    """

    name = "local"
    dimensions = DIMENSIONS
    runtime = "onnx-int8"

    def __init__(self, *, batch_size: int = 32, max_seq_length: int = 256, num_threads: int = 1) -> None:
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.num_threads = max(1, num_threads)
        self._session = None
        self._encode: Callable[[list[str]], list[list[int]]] | None = None
        self._load_error: Exception | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0

    @property
    def variant(self) -> str:
        """What decides the vectors besides the text (keys the training cache): the shipped model's checksum,
        so a rebuilt model never reuses the old one's vectors, and the word-piece cap."""
        return f"onnx-int8-{model_checksum()[:12]}-alone-{self.max_seq_length}"

    def _load(self) -> None:
        try:
            import onnxruntime
        except ImportError as exc:
            raise ImportError(f"the ONNX MiniLM needs onnxruntime: {_INSTALL_HINT}") from exc
        manifest = json.loads(MANIFEST.read_text())
        model = _verified(MODELS_DIR / manifest["model"], manifest["model_sha256"])
        vocab = _verified(MODELS_DIR / manifest["tokenizer"], manifest["tokenizer_sha256"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # texts run side by side instead: see the class docstring
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting threads
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._encode = _encoder(vocab, self.max_seq_length)
        logger.info("otel-llm: loaded all-MiniLM-L6-v2 int8 ONNX from %s (%d text(s) at a time)", model,
                    self.num_threads)

    def _loaded(self) -> tuple[Callable[[list[int]], np.ndarray], Callable[[list[str]], list[list[int]]],
                               ThreadPoolExecutor | None]:
        """(run one text's word pieces, encode texts, the pool or None), loading on first use."""
        with self._lock:
            if self._load_error is not None:
                raise self._load_error
            if self._session is None:
                try:
                    self._load()
                except Exception as exc:
                    self._load_error = exc
                    raise
            assert self._encode is not None and self._session is not None
            if self.num_threads > 1 and (self._pool is None or self._pool_pid != os.getpid()):
                self._pool = ThreadPoolExecutor(self.num_threads - 1, thread_name_prefix="otel-llm-onnx")
                self._pool_pid = os.getpid()  # a pool's threads do not survive fork()
            session = self._session

        def run(ids: list[int]) -> np.ndarray:
            tokens = np.asarray([ids], dtype=np.int64)
            feeds = {"input_ids": tokens, "attention_mask": np.ones_like(tokens),
                     "token_type_ids": np.zeros_like(tokens)}
            return session.run(None, feeds)[0][0]

        return run, self._encode, self._pool

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row of 384 per text."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        run, encode, pool = self._loaded()
        pieces = encode(list(texts))
        next_row = itertools.count()  # shared by the runners: next() on it is atomic

        def drain() -> None:
            for row in next_row:
                if row >= len(pieces):
                    return
                out[row] = run(pieces[row])

        # The calling thread is one of the runners, so its CPU time stays a fair share of the work.
        helpers = [pool.submit(drain) for _ in range(min(self.num_threads, len(pieces)) - 1)] if pool else []
        drain()
        for helper in helpers:
            helper.result()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


def _encoder(vocab: Path, max_length: int) -> Callable[[list[str]], list[list[int]]]:
    """Texts -> word-piece ids with [CLS]/[SEP], cut at `max_length`: `tokenizers` when installed."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        from .wordpiece import WordPiece

        wordpiece = WordPiece(vocab, max_length)
        return lambda texts: [wordpiece.encode(t) for t in texts]
    tokenizer = Tokenizer.from_file(str(vocab))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return lambda texts: [e.ids for e in tokenizer.encode_batch(texts)]
