"""`pip install 'otel-llm[lambda]'` in a fresh venv: installed size of everything it brings, less what the
Lambda Python runtime already has (boto3 and its dependencies) and pip itself; whether torch came along;
and whether it scores with the local backend with no network at all (run in a new, empty network
namespace where `unshare -n` works, else with HF_HUB_OFFLINE=1 only) and without importing torch.

    python benchmarks/lambda_size.py [--json]     # about a minute: it installs from the package index
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_MB = 250  # a zip-deployed Lambda, unzipped, function and layers together
IN_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
NOT_DEPLOYED = {"pip", "setuptools", "wheel"}

SIZES = r"""
import json
from importlib import metadata
sizes = {}
for dist in metadata.distributions():
    total = 0
    for f in dist.files or ():
        try:
            total += f.locate().stat().st_size
        except OSError:
            pass
    sizes[dist.metadata["Name"].lower().replace("_", "-")] = total
print(json.dumps(sizes))
"""

SCORE = r"""
import json, sys
from otel_llm import Settings
from otel_llm._quality.scoring import Scorer
from otel_llm.record import LLMCall
scorer = Scorer(Settings.from_env(backend="local"))
s = scorer.score(LLMCall(model_id="anthropic.claude", prompt="Name three rivers in Europe.",
                         completion="The Danube, the Rhine and the Seine."))
print(json.dumps({"backend": s.backend, "embeddings": type(scorer.embeddings.backend).__name__,
                  "similarity": s.similarity, "sentiment": s.sentiment, "toxicity": s.toxicity,
                  "refusal": s.refusal, "failed": list(s.failed), "torch_imported": "torch" in sys.modules}))
"""


def measure() -> dict:
    venv = Path(tempfile.mkdtemp(prefix="otel-llm-lambda-"))
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = str(venv / "bin" / "python")
        subprocess.run([py, "-m", "pip", "install", "-q", f"{ROOT}[lambda]"], check=True,
                       capture_output=True, text=True)
        sizes = json.loads(subprocess.run([py, "-c", SIZES], check=True, capture_output=True,
                                          text=True).stdout)
        deployed = {n: s for n, s in sizes.items() if n not in IN_RUNTIME | NOT_DEPLOYED}
        offline = ["unshare", "-n"] if shutil.which("unshare") and subprocess.run(
            ["unshare", "-n", "true"], capture_output=True).returncode == 0 else []
        env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(venv)}
        scored = subprocess.run([*offline, py, "-c", SCORE], capture_output=True, text=True, env=env,
                                cwd=str(venv))
        result = json.loads(scored.stdout.strip().splitlines()[-1]) if scored.returncode == 0 else {
            "error": scored.stderr.strip().splitlines()[-1:]}
        return {"deployed_mb": sum(deployed.values()) / 1e6, "limit_mb": LIMIT_MB,
                "largest": sorted(((n, s / 1e6) for n, s in deployed.items()), key=lambda x: -x[1])[:6],
                "runtime_provided_mb": sum(s for n, s in sizes.items() if n in IN_RUNTIME) / 1e6,
                "torch_installed": "torch" in sizes, "no_network": bool(offline), "score": result}
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure()
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
