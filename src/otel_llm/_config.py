"""Every setting of otel-llm in one place: environment variables for zero-code use, the same names
as keyword arguments for code use (`Settings.from_env(queue_size=512)`)."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from typing import Any

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


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _setting(default: object, env: str, doc: str) -> Any:
    """A settings field with its environment variable and its README line."""
    return field(default=default, metadata={"env": env, "doc": doc})


@dataclass(frozen=True, slots=True)
class Settings:
    """All settings. Each field's `env` metadata names its environment variable."""

    capture_content: bool = _setting(
        False, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "Put prompt and completion text on spans (gen_ai.input.messages / gen_ai.output.messages).")
    metrics_enabled: bool = _setting(
        True, "OTEL_LLM_METRICS_ENABLED",
        "Attach the quality-metrics span processor when instrumenting.")
    backend: str = _setting(
        "auto", "OTEL_LLM_BACKEND",
        "Scoring backend: `local` (MiniLM + trained heads), `aws` (Titan Embeddings + Comprehend), "
        "`lexical` (dependency-free, weaker), `auto` (local if installed, else lexical).")
    evaluators: tuple[str, ...] = _setting(
        ("similarity", "sentiment", "toxicity", "refusal"), "OTEL_LLM_EVALUATORS",
        "Comma-separated evaluators to run (plus any registered through the `otel_llm.evaluators` entry "
        "point).")
    sample_rate: float = _setting(
        1.0, "OTEL_LLM_SAMPLE_RATE",
        "Fraction of calls scored, per evaluator unless overridden by OTEL_LLM_SAMPLE_RATES.")
    sample_rates: tuple[str, ...] = _setting(
        (), "OTEL_LLM_SAMPLE_RATES",
        "Per-evaluator rates, e.g. `toxicity=0.1,similarity=0.5`.")
    queue_size: int = _setting(
        2048, "OTEL_LLM_QUEUE_SIZE",
        "Records waiting to be scored; past it records are dropped and counted.")
    batch_size: int = _setting(
        32, "OTEL_LLM_BATCH_SIZE",
        "Records scored per batch.")
    schedule_delay_ms: int = _setting(
        200, "OTEL_LLM_SCHEDULE_DELAY_MS",
        "Longest wait before a partial batch is scored.")
    cache_size: int = _setting(
        4096, "OTEL_LLM_CACHE_SIZE",
        "Texts whose embeddings are cached (by content hash; scores are computed each time).")
    offload_kinesis_stream: str | None = _setting(
        None, "OTEL_LLM_OFFLOAD_KINESIS_STREAM",
        "Offload instead of scoring: the span processor ships each record (prompt and completion text "
        "included: content leaves the process) to this Kinesis stream (name or ARN) for the pipeline's "
        "`kinesis_handler` to score. The stream's endpoint and region come from boto3's configuration.")
    max_content_chars: int = _setting(
        32768, "OTEL_LLM_MAX_CONTENT_CHARS",
        "Prompt/completion text kept per call; longer text is truncated, never copied without bound.")
    refusal_phrases_file: str | None = _setting(
        None, "OTEL_LLM_REFUSAL_PHRASES_FILE",
        "Extra refusal phrases, one per line (`family: phrase` to target a family).")
    refusal_threshold: float | None = _setting(
        None, "OTEL_LLM_REFUSAL_THRESHOLD",
        "Override the tuned refusal decision threshold on the refusal score.")
    aws_region: str | None = _setting(
        None, "OTEL_LLM_AWS_REGION",
        "Region of the AWS backends (default: the boto3 default region).")
    embedding_model_id: str = _setting(
        "amazon.titan-embed-text-v2:0", "OTEL_LLM_EMBEDDING_MODEL_ID",
        "Bedrock embedding model of the `aws` backend.")
    embedding_dimensions: int = _setting(
        512, "OTEL_LLM_EMBEDDING_DIMENSIONS",
        "Titan v2 output dimensions (256, 512 or 1024).")
    embedding_normalize: bool = _setting(
        True, "OTEL_LLM_EMBEDDING_NORMALIZE",
        "Ask Titan v2 for unit-length vectors (cosines are computed on unit rows either way).")
    local_max_tokens: int = _setting(
        256, "OTEL_LLM_LOCAL_MAX_TOKENS",
        "Word pieces the `local` backend reads per text (longer text is cut); 128 is about twice as fast "
        "on long completions.")
    local_runtime: str = _setting(
        "auto", "OTEL_LLM_LOCAL_RUNTIME",
        "What runs MiniLM for the `local` backend: `torch` (bfloat16 where the CPU computes it natively, "
        "else float32; the `local` extra), `onnx` (int8 ONNX Runtime, no torch; the `lambda` extra), or "
        "`auto`: torch on CPUs with AMX bfloat16 when the app has not imported torch itself, else onnx "
        "when installed. The log says which.")
    inference_threads: int = _setting(
        0, "OTEL_LLM_INFERENCE_THREADS",
        "Threads the local model computes with; 0: one for the span processor's worker, every CPU the "
        "process may use for the pipeline handlers (scoring is all they do). ONNX runs that many texts at "
        "once on threads of its own; torch's threads are process-wide, so otel-llm leaves them alone when "
        "the app imported torch first.")
    cpu_budget: float = _setting(
        0.25, "OTEL_LLM_CPU_BUDGET",
        "Share of one core the scoring worker may use (measured thread CPU time); past it, calls are sampled "
        "out adaptively and counted (`otel_llm.records{otel_llm.outcome=\"sampled_out\"}`). 0 turns the "
        "budget off.")
    worker_nice: int = _setting(
        19, "OTEL_LLM_WORKER_NICE",
        "Linux niceness of the scoring worker thread alone (19: the lowest priority, so the app's own "
        "threads and processes run first when the CPU is busy; 0: the app's). The model's threads "
        "inherit it.")
    scorer_process: str = _setting(
        "auto", "OTEL_LLM_SCORER_PROCESS",
        "Score in a child process of the app (`python -I`, fed over a local socket pair; text goes to it "
        "alone) instead of a worker thread, so scoring never holds the app's GIL: `auto` for the `local` "
        "backend (the one that computes), `true` for every backend, `false` never. Started by the worker "
        "when the first batch is due, ended with the app; if it cannot start, hangs or keeps dying, scoring "
        "falls back to the worker thread (logged once). Not on Windows, nor with a scorer given in code.")
    bedrock_endpoint_url: str | None = _setting(
        None, "OTEL_LLM_BEDROCK_ENDPOINT_URL",
        "Endpoint of bedrock-runtime for the `aws` backend (VPC endpoints, the local emulator).")
    comprehend_endpoint_url: str | None = _setting(
        None, "OTEL_LLM_COMPREHEND_ENDPOINT_URL",
        "Endpoint of Comprehend for the `aws` backend.")
    backend_timeout_s: float = _setting(
        5.0, "OTEL_LLM_BACKEND_TIMEOUT_S",
        "Budget of one `aws` backend call (a batch's embeddings, sentiment or toxicity): connecting, "
        "reading, retries and backoff together. Past it the call fails and its scores are counted failed.")
    breaker_failures: int = _setting(
        3, "OTEL_LLM_BREAKER_FAILURES",
        "Consecutive failed calls after which a backend's circuit breaker opens (calls then fail at once).")
    breaker_cooldown_s: float = _setting(
        30.0, "OTEL_LLM_BREAKER_COOLDOWN_S",
        "Seconds an open breaker waits before letting one probe call through (half-open).")
    shutdown_timeout_s: float = _setting(
        5.0, "OTEL_LLM_SHUTDOWN_TIMEOUT_S",
        "Longest wait of the processor's `shutdown()`, of `force_flush()` without a timeout, and of the "
        "flush at interpreter exit; records still unscored then are counted as dropped.")
    redactor: str | None = _setting(  # in code, the callable itself is accepted too
        None, "OTEL_LLM_REDACTOR",
        "`module:function` called with each record's `LLMCall` on the scoring worker before it is scored "
        "(and, with content capture on, on what goes on the span): return the call (scrubbed in place, or "
        "a new one), or None to score nothing of it. If it raises or cannot be imported, the record is not "
        "scored and is counted failed, and its span carries no content.")
    resolve_inference_profiles: bool = _setting(
        False, "OTEL_LLM_RESOLVE_INFERENCE_PROFILES",
        "Resolve application inference profile ARNs to their model with a cached GetInferenceProfile call "
        "(off the hot path).")
    evaluation_events: bool = _setting(
        False, "OTEL_LLM_EVALUATION_EVENTS",
        "Also emit a `gen_ai.evaluation.result` event per score.")
    emf_export: str | None = _setting(
        None, "OTEL_LLM_EMF_EXPORT",
        "Where `otel_llm.exporters.emf_reader_from_settings()` and the Lambda pipeline handlers write "
        "CloudWatch EMF lines, with no collector: `stdout` (Lambda) or a file path. Under "
        "`opentelemetry-instrument`, use `OTEL_METRICS_EXPORTER=emf` instead.")
    emf_namespace: str = _setting(
        "OtelLLM", "OTEL_LLM_EMF_NAMESPACE",
        "CloudWatch namespace of the EMF lines.")

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

    def threads_for_inference(self, whole_process: bool = False) -> int:
        """`inference_threads`, or for 0 one thread (or, with `whole_process`, every CPU this process may
        use: a pipeline handler does nothing but score)."""
        if self.inference_threads > 0:
            return self.inference_threads
        return usable_cpus() if whole_process else 1

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
