"""Names, units and bucket layouts of every instrument otel-llm records (one table, one module).

The GenAI semantic-convention instruments keep their convention names; our own live under the
`otel_llm.` prefix. Quality scores are always recorded in [0, 1] so CloudWatch can compute
percentiles (it computes none for a metric that ever receives a negative value).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- GenAI semantic-convention instruments (call metrics) -------------------------------------
TOKEN_USAGE = "gen_ai.client.token.usage"
OPERATION_DURATION = "gen_ai.client.operation.duration"
TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"

# Advised boundaries from the conventions.
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
CHUNK_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

# --- otel-llm quality instruments ---------------------------------------------------------------
PREFIX = "otel_llm."
SIMILARITY = "otel_llm.similarity"
SENTIMENT = "otel_llm.sentiment"
TOXICITY = "otel_llm.toxicity"
REFUSAL = "otel_llm.refusal"
REFUSALS = "otel_llm.refusals"  # counter: completions judged refusals
RECORDS = "otel_llm.records"  # counter: records by outcome (scored, dropped, failed, sampled_out)
SDK_ERRORS = "otel_llm.sdk.errors"  # counter: failures inside the SDK, by component

# Twenty equal-width buckets over [0, 1]: fine enough for p10/p90 alarms, few enough for EMF.
SCORE_BUCKETS = tuple(round(i / 20, 2) for i in range(1, 20))

# Attribute keys (low cardinality only: no ids, no hashes, no text).
ATTR_MODEL = "gen_ai.request.model"
ATTR_OPERATION = "gen_ai.operation.name"
ATTR_PROVIDER = "gen_ai.provider.name"
ATTR_TOKEN_TYPE = "gen_ai.token.type"
ATTR_ERROR_TYPE = "error.type"
ATTR_SERVER_ADDRESS = "server.address"
ATTR_BACKEND = "otel_llm.backend"
ATTR_OUTCOME = "otel_llm.outcome"
ATTR_REFUSAL_SOURCE = "otel_llm.refusal.source"
ATTR_COMPONENT = "otel_llm.component"
ATTR_EVALUATOR = "otel_llm.evaluator"


@dataclass(frozen=True, slots=True)
class Instrument:
    name: str
    kind: str  # "histogram" | "counter"
    unit: str
    description: str
    buckets: tuple[float, ...] | None = None


# The quality histograms are declared by their evaluators (`_quality/evaluators/registry.py` lists them).

CALL_INSTRUMENTS = (
    Instrument(TOKEN_USAGE, "histogram", "{token}",
               "Tokens used per call, by gen_ai.token.type.", TOKEN_BUCKETS),
    Instrument(OPERATION_DURATION, "histogram", "s", "Duration of the GenAI operation.", DURATION_BUCKETS),
    Instrument(TIME_TO_FIRST_CHUNK, "histogram", "s",
               "Time from request to the first streamed chunk.", CHUNK_BUCKETS),
    Instrument(TIME_PER_OUTPUT_CHUNK, "histogram", "s",
               "Time between streamed chunks after the first.", CHUNK_BUCKETS),
)

COUNTERS = (
    Instrument(REFUSALS, "counter", "{completion}",
               "Completions judged refusals, by otel_llm.refusal.source."),
    Instrument(RECORDS, "counter", "{record}", "Records seen by the quality processor, by otel_llm.outcome."),
    Instrument(SDK_ERRORS, "counter", "{error}",
               "Failures inside otel-llm (the user's call is never affected), by otel_llm.component."),
)


def unit_interval(value: float) -> float:
    """Clamp to [0, 1]."""
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else float(value)


def similarity_to_unit(cosine: float) -> float:
    """Cosine in [-1, 1] to the recorded value: negative cosines (unrelated texts) become 0."""
    return unit_interval(cosine)


def sentiment_to_unit(score: float) -> float:
    """Sentiment in [-1, 1] to the recorded value (score + 1) / 2."""
    return unit_interval((score + 1.0) / 2.0)
