"""The torch-free local backend: int8 ONNX MiniLM, its word pieces, its checksum, the runtime choice."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from otel_llm._backends import choose_runtime
from otel_llm._backends.local import ModelIntegrityError
from otel_llm._backends.onnx import MANIFEST, OnnxEmbeddings, _verified, onnx_available
from otel_llm._backends.wordpiece import WordPiece
from otel_llm._training.data import find_data_dir, load_stsb

pytestmark = pytest.mark.skipif(not onnx_available(), reason="needs onnxruntime (the lambda extra)")
VOCAB = MANIFEST.parent / "minilm-tokenizer.json"
SRC = Path(__file__).resolve().parents[2] / "src"


def sentences(n: int = 200) -> list[str]:
    data = load_stsb(find_data_dir())
    odd = ["Ünïcödé café naïve", "中文 test", "tab\there\u200bzero", "a" * 150, "emoji 😀 ok",
           "Stra\u00dfe \ufb01ne", "", "   "]
    return list(data.first[:n]) + odd


@pytest.mark.skipif(importlib.util.find_spec("tokenizers") is None, reason="compares with tokenizers")
def test_plain_python_word_pieces_are_the_tokenizers_ids() -> None:
    from tokenizers import Tokenizer

    texts = [*sentences(), " ".join(sentences(60))]  # one long text: cut at 256
    reference = Tokenizer.from_file(str(VOCAB))
    reference.enable_truncation(max_length=256)
    reference.no_padding()
    assert [WordPiece(VOCAB, 256).encode(t) for t in texts] == [e.ids for e in reference.encode_batch(texts)]


def test_embeddings_are_unit_rows_and_order_free() -> None:
    texts = sentences(40)
    backend = OnnxEmbeddings()
    vectors = backend.embed(texts)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    nonempty = np.linalg.norm(vectors, axis=1)
    assert np.allclose(nonempty, 1.0, atol=1e-5)
    assert np.allclose(backend.embed(texts[::-1])[::-1], vectors, atol=1e-6)  # a text's vector is its own


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None, reason="compares with torch")
def test_int8_vectors_stay_close_to_float32_torch() -> None:
    from otel_llm._backends.local import LocalEmbeddings, local_available

    if not local_available():
        pytest.skip("needs the local extra")
    texts = sentences(120)[:120]
    cosine = np.sum(OnnxEmbeddings().embed(texts) * LocalEmbeddings(dtype="float32").embed(texts), axis=1)
    assert cosine.mean() >= 0.99 and cosine.min() >= 0.97  # measured on STS-B: mean 0.993, min 0.975


def test_a_text_gets_the_same_vector_alone_and_in_any_batch() -> None:
    texts = ["not bad", "The hotel was not bad at all.", " ".join(sentences(30)), "ok", ""]
    backend = OnnxEmbeddings()
    batched = backend.embed(texts * 2)
    for i, text in enumerate(texts):
        alone = backend.embed([text])[0]
        assert np.array_equal(alone, batched[i]) and np.array_equal(alone, batched[i + len(texts)]), text



def test_texts_run_side_by_side_get_the_vectors_they_get_one_at_a_time() -> None:
    texts = [*sentences(60), " ".join(sentences(30))]
    one = OnnxEmbeddings(num_threads=1).embed(texts)
    threaded = OnnxEmbeddings(num_threads=3)
    assert np.array_equal(threaded.embed(texts), one)  # same kernels, same thread count per run
    assert np.array_equal(threaded.embed(texts[:1]), one[:1])


def test_a_pipeline_scores_on_every_cpu_and_the_span_processor_on_one() -> None:
    from opentelemetry.sdk.metrics import MeterProvider

    from otel_llm._config import Settings, usable_cpus
    from otel_llm.pipelines.handlers import Pipeline

    settings = Settings(backend="local", local_runtime="onnx")
    assert settings.threads_for_inference() == 1
    pipeline = Pipeline(settings, meter_provider=MeterProvider())
    assert pipeline.scorer.embeddings.backend.num_threads == usable_cpus()
    explicit = Pipeline(Settings.from_env({"OTEL_LLM_INFERENCE_THREADS": "1"}, backend="local",
                                          local_runtime="onnx"), meter_provider=MeterProvider())
    assert explicit.scorer.embeddings.backend.num_threads == 1

def test_the_shipped_model_is_the_fused_graph_the_build_script_records() -> None:
    onnx = pytest.importorskip("onnx")
    import json

    manifest = json.loads(MANIFEST.read_text())
    nodes = [node.op_type for node in onnx.load(str(MANIFEST.parent / manifest["model"])).graph.node]
    assert nodes.count("SkipLayerNormalization") == 12 and nodes.count("BiasGelu") == 6
    assert "Erf" not in nodes and "IsNaN" not in nodes  # Gelu fused; no SDPA-export masking per layer
    assert "SkipLayerNormalization x12" in manifest["recipe"]


def test_the_training_cache_key_changes_with_the_model(tmp_path: Path, monkeypatch) -> None:
    import json

    from otel_llm._backends import onnx as module

    before = OnnxEmbeddings().variant
    assert module.model_checksum()[:12] in before
    manifest = json.loads(MANIFEST.read_text())
    other = tmp_path / MANIFEST.name
    other.write_text(json.dumps({**manifest, "model_sha256": "f" * 64}))
    monkeypatch.setattr(module, "MANIFEST", other)
    assert OnnxEmbeddings().variant != before


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    copy.write_bytes(b"not the model")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        _verified(copy, "0" * 64)


@pytest.mark.parametrize(("torch", "onnx", "flags", "app_torch", "expected"), [
    (True, True, {"avx512_bf16"}, False, "onnx"),
    (True, True, {"amx_bf16"}, False, "torch"),
    (True, True, {"amx_bf16"}, True, "onnx"),
    (False, True, {"amx_bf16"}, False, "onnx"),
    (True, False, set(), True, "torch"),
])
def test_auto_runtime_choice(torch, onnx, flags, app_torch, expected) -> None:
    assert choose_runtime(torch, onnx, frozenset(flags), app_torch)[0] == expected


BLOCK_TORCH = """
import sys
for name in ("torch", "transformers", "sentence_transformers", "tokenizers"):
    sys.modules[name] = None  # import fails as if not installed
from otel_llm import score
s = score("How do I reverse a list in Python?", "Use items[::-1] or items.reverse().")
assert s.backend == "local", s.backend
assert None not in (s.similarity, s.sentiment, s.toxicity, s.refusal), s
assert s.similarity > 0.3, s.similarity
assert sys.modules["torch"] is None and sys.modules["tokenizers"] is None
print("ok", s.similarity)
"""


@pytest.mark.slow
def test_local_backend_scores_without_torch_or_tokenizers() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OTEL_LLM_BACKEND": "local"}
    done = subprocess.run([sys.executable, "-c", BLOCK_TORCH], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")
