"""The `otel-llm` command: demo, emulator, evaluate, replay."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(otlp_endpoint=args.otlp, calls=args.calls)


def _emulator(args: argparse.Namespace) -> int:
    from .testing import serve

    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port)
    return 0


def _evaluate(argv: list[str]) -> int:
    from ._training.accuracy import main_evaluate

    return main_evaluate(argv)


def _replay(argv: list[str]) -> int:
    from .pipelines._replay import main_replay

    return main_replay(argv)


# Subcommands that parse their own arguments (and answer their own --help).
PASSTHROUGH = {"evaluate": _evaluate, "replay": _replay}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otel-llm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="a Bedrock workload against the local emulator, then its metrics")
    demo.add_argument("--otlp", metavar="URL", help="also send traces and metrics over OTLP/HTTP to this URL")
    demo.add_argument("--calls", type=int, default=48, help="number of Bedrock calls in the workload")
    demo.set_defaults(func=_demo)

    emu = sub.add_parser("emulator", help="serve the local Bedrock-compatible API")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=4599)
    emu.set_defaults(func=_emulator)

    sub.add_parser("evaluate", help="measure the local evaluators on the labelled data (see evaluate --help)")
    sub.add_parser("replay", help="score Bedrock invocation logs from files or S3 (see replay --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PASSTHROUGH:
        return int(PASSTHROUGH[argv[0]](argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
