"""What CloudWatch sees of our instruments: the namespace, the dimension sets of each metric and the
CloudWatch unit of each OTel unit. One table shared by the EMF exporter, the ADOT collector configs
(`collector/`, checked by the tests) and the alarms template.
"""

from __future__ import annotations

from .. import _instruments as names

DEFAULT_NAMESPACE = "OtelLLM"
SERVICE = "service.name"  # a resource attribute, carried as a dimension

_BASE = (SERVICE, names.ATTR_MODEL, names.ATTR_OPERATION)
_CALL = (_BASE, (SERVICE,))

# Each metric's CloudWatch dimension sets, low cardinality only. A set applies to a data point only when
# the point carries every key of it (the awsemf exporter has the same rule), so the narrower sets are
# the roll-ups the alarms use whatever other attributes a point has.
DIMENSION_SETS: dict[str, tuple[tuple[str, ...], ...]] = {
    names.TOKEN_USAGE: ((*_BASE, names.ATTR_TOKEN_TYPE), (SERVICE, names.ATTR_TOKEN_TYPE)),
    names.OPERATION_DURATION: (*_CALL, (*_BASE, names.ATTR_ERROR_TYPE)),
    names.TIME_TO_FIRST_CHUNK: _CALL,
    names.TIME_PER_OUTPUT_CHUNK: _CALL,
    names.SIMILARITY: _CALL,
    names.SENTIMENT: _CALL,
    names.TOXICITY: _CALL,
    names.REFUSAL: _CALL,
    names.REFUSALS: (*_CALL, (SERVICE, names.ATTR_REFUSAL_SOURCE)),
    names.RECORDS: ((*_BASE, names.ATTR_OUTCOME), (SERVICE, names.ATTR_OUTCOME)),
    names.SDK_ERRORS: ((SERVICE, names.ATTR_COMPONENT), (SERVICE,)),
}

# OTel (UCUM) units to CloudWatch units. Annotations such as `{token}` are counts; `1` is dimensionless.
_UNITS = {
    "s": "Seconds", "ms": "Milliseconds", "us": "Microseconds", "By": "Bytes", "KBy": "Kilobytes",
    "MBy": "Megabytes", "GBy": "Gigabytes", "bit": "Bits", "%": "Percent", "1": "None",
    "By/s": "Bytes/Second", "bit/s": "Bits/Second", "1/s": "Count/Second",
}


def cloudwatch_unit(unit: str | None) -> str:
    """The CloudWatch unit of an OTel unit (`None` when CloudWatch has no such unit)."""
    if not unit:
        return "None"
    if unit in _UNITS:
        return _UNITS[unit]
    if unit.startswith("{") and unit.endswith("}"):
        return "Count"
    if unit.startswith("{") and unit.endswith("}/s"):
        return "Count/Second"
    return "None"


def dimension_sets(metric: str, keys: set[str]) -> list[list[str]] | None:
    """The declared dimension sets of `metric` that a point with attribute `keys` fills (None: undeclared)."""
    declared = DIMENSION_SETS.get(metric)
    if declared is None:
        return None
    return [list(dims) for dims in declared if keys.issuperset(dims)]
