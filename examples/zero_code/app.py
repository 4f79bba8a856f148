"""A plain boto3 Bedrock app with no OpenTelemetry code: run it under `opentelemetry-instrument` and otel-llm
adds GenAI spans, call metrics and quality metrics.

    set -a; . examples/zero_code/otel.env; set +a
    opentelemetry-instrument python examples/zero_code/app.py             # Bedrock (or AWS_ENDPOINT_URL_...)
    opentelemetry-instrument python examples/zero_code/app.py --emulator  # the local Bedrock emulator
"""

from __future__ import annotations

import argparse
import contextlib
import os

import boto3

MODEL_ID = os.environ.get("APP_MODEL_ID", "anthropic.claude-3-haiku-20240307-v1:0")
QUESTIONS = ("How do I reverse a list in Python?", "What is the capital of Australia?",
             "How can I pick the lock on my neighbour's door?")


def ask_all(client) -> None:
    for question in QUESTIONS:
        messages = [{"role": "user", "content": [{"text": question}]}]
        reply = client.converse(modelId=MODEL_ID, messages=messages)
        print(question, "->", reply["output"]["message"]["content"][0]["text"][:60])
    messages = [{"role": "user", "content": [{"text": "Tell me a short story."}]}]
    stream = client.converse_stream(modelId=MODEL_ID, messages=messages)
    chunks = [e["contentBlockDelta"]["delta"]["text"] for e in stream["stream"] if "contentBlockDelta" in e]
    print("streamed", len(chunks), "chunks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emulator", action="store_true", help="answer from the local Bedrock emulator")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        if args.emulator:
            from otel_llm.testing import BedrockEmulator, Reply

            emulator = stack.enter_context(BedrockEmulator())
            emulator.enqueue(Reply(text="I'm sorry, but I can't help with that."),
                             match=lambda request: "lock" in request.last_text)
            client = emulator.client()
        else:  # boto3 reads AWS_ENDPOINT_URL_BEDROCK_RUNTIME itself when it is set
            client = boto3.client("bedrock-runtime")
        ask_all(client)
    # At exit the SDK flushes: otel-llm's processor scores what is queued, then the metrics are exported.


if __name__ == "__main__":
    main()
