"""The local servers the benchmarks call: one Bedrock emulator (`otel_llm.testing`) and one Comprehend server,
with scripted replies chosen by a word in the prompt:

- `LONG`: a long completion (about 250 words of STS-B sentences, different for every prompt);
- `SLOW`: the answer waits 50 ms first (the app-load benchmark's server latency);
- otherwise the emulator's own short, prompt-derived answer (about 20 words).

Replies differ whenever prompts do, so the scorer's content cache cannot make scoring look free.

    python benchmarks/bench_servers.py   # prints {"bedrock": URL, "comprehend": URL}; serves until EOF
"""

from __future__ import annotations

import hashlib
import json
import sys

from otel_llm._training.data import find_data_dir, load_stsb
from otel_llm.testing import BedrockEmulator, EmulatorRequest, Reply
from otel_llm.testing.comprehend import ComprehendServer

LONG_WORDS = 250
SLOW_S = 0.05


class Replies:
    """The responder: a long answer for `LONG` prompts, a 50 ms wait for `SLOW` ones."""

    def __init__(self) -> None:
        self.sentences = load_stsb(find_data_dir()).first

    def long_text(self, prompt: str) -> str:
        seed = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big")
        words: list[str] = []
        while len(words) < LONG_WORDS:
            seed = (seed * 6364136223846793005 + 1442695040888963407) % 2**64
            words.extend(self.sentences[seed % len(self.sentences)].split())
        return " ".join(words[:LONG_WORDS])

    def __call__(self, request: EmulatorRequest) -> Reply | None:
        text = request.last_text
        latency = SLOW_S if "SLOW" in text else 0.0
        if "LONG" in text:
            return Reply(text=self.long_text(text), latency_s=latency)
        return Reply(latency_s=latency) if latency else None


class _Emulator(BedrockEmulator):
    """Keeps no request log: a 100,000-call run would otherwise grow the server, not the app."""

    def _record(self, request: EmulatorRequest) -> None:
        return None


def start() -> tuple[BedrockEmulator, ComprehendServer]:
    emulator = _Emulator().start()
    emulator.set_responder(Replies())
    return emulator, ComprehendServer().start()


def main() -> None:
    emulator, comprehend = start()
    print(json.dumps({"bedrock": emulator.endpoint_url, "comprehend": comprehend.endpoint_url}), flush=True)
    try:
        sys.stdin.read()  # the driver closes our stdin to stop us
    finally:
        emulator.stop()
        comprehend.stop()


if __name__ == "__main__":
    main()
