"""Re-validate the shipped heads on the int8 ONNX MiniLM: per-text cosine to float32 torch, STS-B Spearman,
and the held-out measures of `otel-llm evaluate` with the heads retrained on int8 embeddings, next to the
same measures on torch; plus how often the shipped (torch-trained) heads decide differently on int8.

    .venv/bin/python scripts/validate_onnx_model.py      # needs the `local` extra (torch) and onnxruntime
"""

from __future__ import annotations

import numpy as np

from otel_llm._backends.lexical import LexicalEmbeddings
from otel_llm._backends.local import LocalEmbeddings
from otel_llm._backends.onnx import OnnxEmbeddings
from otel_llm._training.accuracy import measure_refusal
from otel_llm._training.data import find_data_dir, load_sentiment, load_stsb, load_toxicity
from otel_llm._training.features import embed_cached
from otel_llm._training.heads import format_table, measure_backend
from otel_llm._weights import SentimentHead, ToxicityHead, clean_text


def main() -> None:
    data = find_data_dir()
    onnx, fp32 = OnnxEmbeddings(), LocalEmbeddings(dtype="float32")
    stsb, sentiment, toxicity = load_stsb(data), load_sentiment(data), load_toxicity(data)
    texts = {"STS-B": list(stsb.first) + list(stsb.second), "sentiment": list(sentiment.texts),
             "toxicity": [clean_text(t) for t in toxicity.texts]}
    print("| texts | n | cosine min | p1 | mean | share < 0.99 |\n|---|---|---|---|---|---|")
    for name, group in texts.items():
        cos = np.sum(embed_cached(onnx, group) * embed_cached(fp32, group), axis=1)
        print(f"| {name} | {len(group)} | {cos.min():.4f} | {np.percentile(cos, 1):.4f} | {cos.mean():.4f} | "
              f"{np.mean(cos < 0.99):.3f} |")
    s_head, t_head = SentimentHead.load("sentiment-minilm"), ToxicityHead.load("toxicity-minilm")
    s_texts, t_texts = texts["sentiment"], texts["toxicity"]
    lexical = LexicalEmbeddings()
    t_lexical = embed_cached(lexical, t_texts)
    for label, a, b in (
            ("sentiment label", s_head.predict(embed_cached(fp32, s_texts), s_texts),
             s_head.predict(embed_cached(onnx, s_texts), s_texts)),
            ("toxicity categories",
             t_head.predict(t_head.features(t_texts, embed_cached(fp32, t_texts), t_lexical)),
             t_head.predict(t_head.features(t_texts, embed_cached(onnx, t_texts), t_lexical)))):
        keys = [(getattr(r, "label", None), getattr(r, "categories", None)) for r in a]
        other = [(getattr(r, "label", None), getattr(r, "categories", None)) for r in b]
        same = np.mean([x == y for x, y in zip(keys, other, strict=True)])
        print(f"\nshipped {label}: same decision on float32 torch and int8 ONNX for {same:.3%} of texts")
    for backend in (onnx, fp32):
        print(f"\n### {backend.variant}\n")
        measures = [*measure_refusal(data, backend), *measure_backend(backend, data)]
        print(format_table(measures))


if __name__ == "__main__":
    main()
