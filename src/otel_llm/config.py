"""Every setting of otel-llm in one place: environment variables for zero-code use, the same names
as keyword arguments for code use (`Settings.from_env(queue_size=512)`)."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field

logger = logging.getLogger("otel_llm")

# The GenAI conventions' newer capture modes count as "on" (span) or "off".
_TRUE = {"1", "true", "yes", "on", "span_only", "span_and_event"}
_FALSE = {"0", "false", "no", "off", "", "no_content", "event_only"}


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings. Each field's `env` metadata names its environment variable."""

    capture_content: bool = field(
        default=False, metadata={"env": "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
                                 "doc": "Put prompt and completion text on spans (gen_ai.input.messages / gen_ai.output.messages)."})
    metrics_enabled: bool = field(
        default=True, metadata={"env": "OTEL_LLM_METRICS_ENABLED",
                                "doc": "Attach the quality-metrics span processor when instrumenting."})
    backend: str = field(
        default="auto", metadata={"env": "OTEL_LLM_BACKEND",
                                  "doc": "Scoring backend: `local` (MiniLM + trained heads), `aws` (Titan Embeddings + Comprehend), `lexical` (dependency-free, weaker), `auto` (local if installed, else lexical)."})
    evaluators: tuple[str, ...] = field(
        default=("similarity", "sentiment", "toxicity", "refusal"),
        metadata={"env": "OTEL_LLM_EVALUATORS", "doc": "Comma-separated evaluators to run (plus any registered through the `otel_llm.evaluators` entry point)."})
    sample_rate: float = field(
        default=1.0, metadata={"env": "OTEL_LLM_SAMPLE_RATE",
                               "doc": "Fraction of calls scored, per evaluator unless overridden by OTEL_LLM_SAMPLE_RATES."})
    sample_rates: tuple[str, ...] = field(
        default=(), metadata={"env": "OTEL_LLM_SAMPLE_RATES",
                              "doc": "Per-evaluator rates, e.g. `toxicity=0.1,similarity=0.5`."})
    queue_size: int = field(
        default=2048, metadata={"env": "OTEL_LLM_QUEUE_SIZE", "doc": "Records waiting to be scored; past it records are dropped and counted."})
    batch_size: int = field(
        default=32, metadata={"env": "OTEL_LLM_BATCH_SIZE", "doc": "Records scored per batch."})
    schedule_delay_ms: int = field(
        default=200, metadata={"env": "OTEL_LLM_SCHEDULE_DELAY_MS", "doc": "Longest wait before a partial batch is scored."})
    cache_size: int = field(
        default=4096, metadata={"env": "OTEL_LLM_CACHE_SIZE", "doc": "Texts whose embeddings and scores are cached (by content hash)."})
    max_content_chars: int = field(
        default=32768, metadata={"env": "OTEL_LLM_MAX_CONTENT_CHARS", "doc": "Prompt/completion text kept per call; longer text is truncated, never copied without bound."})
    refusal_phrases_file: str | None = field(
        default=None, metadata={"env": "OTEL_LLM_REFUSAL_PHRASES_FILE", "doc": "Extra refusal phrases, one per line (`family: phrase` to target a family)."})
    refusal_threshold: float | None = field(
        default=None, metadata={"env": "OTEL_LLM_REFUSAL_THRESHOLD", "doc": "Override the tuned refusal decision threshold on the refusal score."})
    aws_region: str | None = field(
        default=None, metadata={"env": "OTEL_LLM_AWS_REGION", "doc": "Region of the AWS backends (default: the boto3 default region)."})
    embedding_model_id: str = field(
        default="amazon.titan-embed-text-v2:0", metadata={"env": "OTEL_LLM_EMBEDDING_MODEL_ID", "doc": "Bedrock embedding model of the `aws` backend."})
    embedding_dimensions: int = field(
        default=512, metadata={"env": "OTEL_LLM_EMBEDDING_DIMENSIONS", "doc": "Titan v2 output dimensions (256, 512 or 1024)."})
    local_max_tokens: int = field(
        default=256, metadata={"env": "OTEL_LLM_LOCAL_MAX_TOKENS",
                               "doc": "Word pieces the `local` backend reads per text (longer text is cut); 128 is about twice as fast on long completions."})
    bedrock_endpoint_url: str | None = field(
        default=None, metadata={"env": "OTEL_LLM_BEDROCK_ENDPOINT_URL", "doc": "Endpoint of bedrock-runtime for the `aws` backend (VPC endpoints, the local emulator)."})
    comprehend_endpoint_url: str | None = field(
        default=None, metadata={"env": "OTEL_LLM_COMPREHEND_ENDPOINT_URL", "doc": "Endpoint of Comprehend for the `aws` backend."})
    backend_timeout_s: float = field(
        default=5.0, metadata={"env": "OTEL_LLM_BACKEND_TIMEOUT_S", "doc": "Bound on every backend call (connect and read)."})
    resolve_inference_profiles: bool = field(
        default=False, metadata={"env": "OTEL_LLM_RESOLVE_INFERENCE_PROFILES",
                                 "doc": "Resolve application inference profile ARNs to their model with a cached GetInferenceProfile call (off the hot path)."})
    evaluation_events: bool = field(
        default=False, metadata={"env": "OTEL_LLM_EVALUATION_EVENTS", "doc": "Also emit a `gen_ai.evaluation.result` event per score."})
    emf_export: str | None = field(
        default=None, metadata={"env": "OTEL_LLM_EMF_EXPORT",
                                "doc": "Also write metrics as CloudWatch EMF lines, with no collector: `stdout` (Lambda) or a file path."})
    emf_namespace: str = field(
        default="OtelLLM", metadata={"env": "OTEL_LLM_EMF_NAMESPACE", "doc": "CloudWatch namespace of the EMF lines."})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read every setting from `environ` (default `os.environ`); keyword arguments win.

        A malformed value is logged and its default kept: a bad setting must not break the app.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env")
            if name is None or name not in env:
                continue
            try:
                values[f.name] = _convert(f, env[name])
            except ValueError as exc:
                logger.warning("otel-llm: ignoring %s=%r (%s); using the default", name, env[name], exc)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown otel-llm settings: {sorted(unknown)}")
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def rate_for(self, evaluator: str) -> float:
        """Sampling rate of one evaluator."""
        for item in self.sample_rates:
            name, _, rate = item.partition("=")
            if name.strip() == evaluator:
                try:
                    return float(rate)
                except ValueError:
                    break
        return self.sample_rate


def _convert(f: dataclasses.Field, raw: str) -> object:
    kind = str(f.type)
    if kind == "bool":
        return _parse_bool(raw)
    if kind == "int":
        return int(raw)
    if kind in ("float", "float | None"):
        return float(raw)
    if kind.startswith("tuple"):
        return _parse_list(raw)
    return raw.strip() or None if "None" in kind else raw.strip()


def documented_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting: the README's table."""
    rows = []
    for f in dataclasses.fields(Settings):
        default = f.default
        shown = ",".join(default) if isinstance(default, tuple) else ("" if default is None else str(default))
        rows.append((f.metadata["env"], shown, f.metadata["doc"]))
    return rows
