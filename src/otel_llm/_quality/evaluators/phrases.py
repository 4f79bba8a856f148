"""Refusal phrases: the shipped ones (`refusal_phrases/*.txt`, written in several families' styles and used
together as features of the refusal head, whatever the call's family), the user's own file
(`Settings.refusal_phrases_file`: `phrase` or `family: phrase` per line), and which family a call belongs
to (a user's `family:` phrases apply only to that family's calls)."""

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


def shipped_phrases() -> tuple[str, ...]:
    """Every shipped phrase, of every file, once."""
    return tuple(dict.fromkeys(p for path in sorted(PHRASES_DIR.glob("*.txt")) for p in _phrase_lines(path)))


def load_user_phrases(path: str | Path | None) -> PhraseSets:
    """The user's phrases by family ({} without a file; FileNotFoundError/ValueError if unreadable)."""
    if not path:
        return {}
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"refusal phrases file {str(file)!r} (OTEL_LLM_REFUSAL_PHRASES_FILE) not found")
    return parse_phrases(file.read_text(encoding="utf-8").splitlines(), str(file))


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
