"""Refusal phrase sets per model family: the shipped ones (`refusal_phrases/<family>.txt`) plus the user's
file (`Settings.refusal_phrases_file`), and which family a call belongs to."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ...record import LLMCall

PHRASES_DIR = Path(__file__).resolve().parent / "refusal_phrases"
GENERIC = "generic"
FAMILIES = ("anthropic", "meta", "amazon", "mistral", "cohere", "ai21", "deepseek", "openai", GENERIC)
# Parser family names (LLMCall.family) that are not provider names.
_ALIASES = {"llama": "meta", "nova": "amazon", "titan": "amazon", "jamba": "ai21", "claude": "anthropic"}

PhraseSets = dict[str, tuple[str, ...]]


def parse_phrases(lines: Iterable[str], source: str = "phrases") -> PhraseSets:
    """Lines `phrase` (every family) or `family: phrase`; blank lines and `#` comments skipped."""
    sets: dict[str, list[str]] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, sep, rest = line.partition(":")
        family = head.strip().lower()
        if sep and (family in FAMILIES or family in _ALIASES):
            family, line = _ALIASES.get(family, family), rest.strip()
            if not line:
                raise ValueError(f"{source} line {number}: no phrase after {head.strip()!r}:")
        else:
            family = GENERIC
        sets.setdefault(family, []).append(line)
    return {family: tuple(dict.fromkeys(items)) for family, items in sets.items()}


def _phrase_lines(path: Path) -> tuple[str, ...]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(dict.fromkeys(line for line in lines if line and not line.startswith("#")))


def load_phrase_sets(extra_file: str | Path | None = None) -> PhraseSets:
    """The shipped phrase sets, plus `extra_file`'s phrases (FileNotFoundError/ValueError if unreadable)."""
    sets = {path.stem: _phrase_lines(path) for path in sorted(PHRASES_DIR.glob("*.txt"))}
    if extra_file:
        path = Path(extra_file)
        if not path.is_file():
            raise FileNotFoundError(
                f"refusal phrases file {str(path)!r} (OTEL_LLM_REFUSAL_PHRASES_FILE) not found")
        for family, items in parse_phrases(path.read_text(encoding="utf-8").splitlines(), str(path)).items():
            sets[family] = tuple(dict.fromkeys(sets.get(family, ()) + items))
    return sets


def phrases_for(sets: PhraseSets, family: str) -> tuple[str, ...]:
    """The generic phrases and the family's own."""
    return tuple(dict.fromkeys(sets.get(GENERIC, ()) + (sets.get(family, ()) if family != GENERIC else ())))


def family_of(call: LLMCall) -> str:
    """The phrase family of a call: from `call.family`, else the provider segment of its model id."""
    named = (call.family or "").lower()
    named = _ALIASES.get(named, named)
    if named in FAMILIES:
        return named
    if isinstance(call.model_id, str) and call.model_id:
        from ..._bedrock.families import lookup

        provider = lookup(call.model_id).provider_segment
        if provider in FAMILIES:
            return provider
    return GENERIC
