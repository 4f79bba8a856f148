"""A local Bedrock Runtime-compatible server for tests and demos: real boto3 talks to it over HTTP.

from otel_llm.testing import BedrockEmulator, Reply

with BedrockEmulator() as emu:
    emu.enqueue(Reply(text="I can't help with that."))
    client = emu.client()
    client.converse(modelId="us.anthropic.claude-3-5-haiku-20241022-v1:0",
                    messages=[{"role": "user", "content": [{"text": "hi"}]}])
"""

from __future__ import annotations

from .reply import BedrockError, EmulatorRequest, Reply, ToolUse
from .server import BedrockEmulator, serve

__all__ = ["BedrockEmulator", "BedrockError", "EmulatorRequest", "Reply", "ToolUse", "serve"]
