"""``python -m listd.bounce [FILE]`` / ``python -m listd.bounce --dir DIR``.

See :mod:`listd.bounce` for the output contract.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from listd.bounce import classify_message, report_json


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m listd.bounce",
                                 description="Classify a bounce / DSN / complaint message.")
    ap.add_argument("file", nargs="?", help="message file (default: stdin)")
    ap.add_argument("--dir", help="classify every *.eml in DIR, one JSON line each")
    args = ap.parse_args(argv)
    if args.dir:
        for path in sorted(Path(args.dir).glob("*.eml")):
            try:
                raw = path.read_bytes()
            except OSError:
                raw = b""
            out = report_json(classify_message(raw))
            out["file"] = path.name
            print(json.dumps(out, ensure_ascii=False))
        return 0
    raw = Path(args.file).read_bytes() if args.file else sys.stdin.buffer.read()
    print(json.dumps(report_json(classify_message(raw)), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
