"""AI21 Labs Jamba on InvokeModel: the chat-completions shape (messages; choices, usage; delta stream)."""

from __future__ import annotations

from .chat_completions import ChatCompletions

FAMILY = ChatCompletions("jamba")
