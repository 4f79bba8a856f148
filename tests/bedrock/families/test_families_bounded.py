"""The request work on the caller's thread is bounded by what is kept, not by what the request holds."""

from __future__ import annotations

from typing import Any

from otel_llm._bedrock.families import parse_converse_request, parse_request_body, resolve_family_name
from otel_llm._bedrock.families.common import MAX_PARSED_CHARS, MAX_PARSED_MESSAGES


class Counted(dict):
    """A message that counts how often a parser reads it."""

    reads = 0

    def get(self, key: Any, default: Any = None) -> Any:
        Counted.reads += 1
        return super().get(key, default)


def test_families_two_hundred_thousand_messages_read_a_bounded_few() -> None:
    Counted.reads = 0
    messages = [Counted(role="user", content=[{"text": f"message {i} " + "x" * 8}]) for i in range(200_000)]
    parsed = parse_converse_request({"modelId": "m", "messages": messages})
    assert Counted.reads <= 4 * MAX_PARSED_MESSAGES  # a few keys per message read, not every message
    assert len(parsed.messages) == MAX_PARSED_MESSAGES
    assert "message 199999" in parsed.prompt and "message 0 " in parsed.prompt  # the first and the latest


def test_families_a_huge_prompt_is_cut_while_parsed() -> None:
    text = "y" * (8 * MAX_PARSED_CHARS)
    for parsed in (parse_converse_request({"messages": [{"role": "user", "content": [{"text": text}]}] * 4}),
                   parse_request_body(resolve_family_name("anthropic"),
                                      {"messages": [{"role": "user", "content": text}], "system": text})):
        assert len(parsed.prompt) <= MAX_PARSED_CHARS + 8
