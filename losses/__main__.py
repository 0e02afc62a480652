"""Command line: ``python -m losses list`` and ``python -m losses check``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="losses", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="print the catalogue: name, family, short description")
    ls.add_argument("--family", action="append", help="only this family code (repeatable)")
    ck = sub.add_parser(
        "check",
        help="run every loss on every installed backend against float64 NumPy; exit 1 on any disagreement",
    )
    ck.add_argument("--backend", action="append", help="numpy, strict, torch, jax or cupy (repeatable)")
    ck.add_argument("--family", action="append", help="only this family code, e.g. D1a (repeatable)")
    ck.add_argument("--loss", action="append", help="only this loss (repeatable)")
    args = parser.parse_args(argv)

    from . import _check, catalog

    if args.command == "list":
        for e in catalog.entries(args.family):
            print(f"{e.name:<26} {e.family:<4} {e.summary}")
        return 0

    available = _check.available_backends()
    unknown = [b for b in args.backend or [] if b not in _check.BACKEND_ORDER]
    if unknown:
        parser.error(f"unknown backend(s) {unknown}; choose from {list(_check.BACKEND_ORDER)}")
    missing = [b for b in args.backend or [] if b not in available]
    if missing:
        print(f"not installed here (skipped): {', '.join(missing)}", file=sys.stderr)
    chosen = [b for b in (args.backend or available) if b in available]
    print(f"backends: {', '.join(chosen)}")
    rows = _check.run(chosen, args.family, args.loss)
    if not rows:
        print("no loss matched the selection", file=sys.stderr)
        return 2
    print(_check.format_rows(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
