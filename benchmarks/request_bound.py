"""What a Converse request with a million messages costs on the caller's thread before botocore sees it:
the request parse alone, best of N runs (`python benchmarks/request_bound.py 5`)."""

from __future__ import annotations

import os
import sys
import time

from otel_llm._bedrock.exchange import parse_request
from otel_llm._bedrock.families import lookup


def main(runs: int) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": [{"text": "word "}]}
                for i in range(1_000_000)]
    family = lookup("anthropic.claude-3-5-haiku-20241022-v1:0").family
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        parse_request(family, "Converse", {"modelId": "m", "messages": messages})
        times.append(time.perf_counter() - start)
    print(f"parse of 1,000,000 Converse messages: best {min(times) * 1000:.2f} ms of {runs}; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
