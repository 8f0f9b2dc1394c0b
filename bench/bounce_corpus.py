"""Score the bounce classifier on the shared corpus and measure its throughput.

    python bench/bounce_corpus.py [CORPUS_DIR]

CORPUS_DIR defaults to ``../shared/bounce-corpus`` relative to the repository
root.  Accuracy comes from the corpus's own ``score.py`` (batch mode), run
against ``listd bounce classify`` when that command is installed (on PATH or
in ``.venv/bin``), else ``python -m listd.bounce``.  Throughput is measured
in-process: parse + classify of every message, median of several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNS = 7


def classifier_command() -> tuple[str, bool]:
    """(shell command, batch-capable) for score.py."""
    listd = shutil.which("listd") or (REPO / ".venv" / "bin" / "listd")
    if Path(listd).exists():
        # The real CLI takes one message on stdin: per-message mode.
        return f"{shlex.quote(str(listd))} bounce classify", False
    py = shlex.quote(sys.executable)
    return f"PYTHONPATH={shlex.quote(str(REPO))} {py} -m listd.bounce --dir", True


def run_score(corpus: Path) -> str:
    cmd, batch = classifier_command()
    args = [sys.executable, str(corpus / "score.py"), "--cmd", cmd]
    if batch:
        args.append("--batch")
    print(f"score.py --cmd {cmd!r}{' --batch' if batch else ''}", flush=True)
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("recall=")]
    return lines[-1] if lines else "(no score line)"


def message_files(corpus: Path) -> list[Path]:
    entries = json.loads((corpus / "dev.json").read_text())
    return [corpus / e["source"] / e["path"] for e in entries]


def throughput(files: list[Path]) -> float:
    sys.path.insert(0, str(REPO))
    from listd.bounce import classify_message

    messages = [f.read_bytes() for f in files]
    for raw in messages:  # warm-up: imports, regex compilation
        classify_message(raw)
    rates = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for raw in messages:
            classify_message(raw)
        rates.append(len(messages) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=str(REPO.parent / "shared" / "bounce-corpus"))
    args = ap.parse_args()
    corpus = Path(args.corpus).resolve()
    if not (corpus / "score.py").exists():
        print(f"no corpus at {corpus}", file=sys.stderr)
        return 2
    score_line = run_score(corpus)
    files = message_files(corpus)
    rate = throughput(files)
    print(f"\nscore:      {score_line}")
    print(f"throughput: {rate:,.0f} reports/s (parse+classify, in-process, {len(files)} "
          f"messages, median of {RUNS} runs, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
