"""OpenAI gpt-oss on InvokeModel: Chat Completions (messages, max_completion_tokens; choices, usage;
`choices[].delta` stream). Leading `<reasoning>` text is removed from completions in `invoke.py`."""

from __future__ import annotations

from .chat_completions import ChatCompletions

FAMILY = ChatCompletions("openai")
