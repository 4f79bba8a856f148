"""The `otel-llm` command: demo, emulator, evaluate, replay."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(otlp_endpoint=args.otlp, calls=args.calls)


def _emulator(args: argparse.Namespace) -> int:
    from .testing import serve

    try:
        serve(args.host, args.port)
    except KeyboardInterrupt:
        pass
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import main_evaluate

    return main_evaluate(args.rest)


def _replay(args: argparse.Namespace) -> int:
    from .pipelines.replay import main_replay

    return main_replay(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otel-llm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run a mixed Bedrock workload against the local emulator and print metrics")
    demo.add_argument("--otlp", metavar="URL", help="also send traces and metrics over OTLP/HTTP to this collector")
    demo.add_argument("--calls", type=int, default=48, help="number of Bedrock calls in the workload")
    demo.set_defaults(func=_demo)

    emu = sub.add_parser("emulator", help="serve the local Bedrock-compatible API")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=4599)
    emu.set_defaults(func=_emulator)

    ev = sub.add_parser("evaluate", help="measure the local evaluators on the labelled data", add_help=False)
    ev.add_argument("rest", nargs=argparse.REMAINDER)
    ev.set_defaults(func=_evaluate)

    rp = sub.add_parser("replay", help="score Bedrock invocation logs from files or S3", add_help=False)
    rp.add_argument("rest", nargs=argparse.REMAINDER)
    rp.set_defaults(func=_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
