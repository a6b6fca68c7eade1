"""Rewrite schemas/ from the plan models.

Run after changing onboard_llm/schema.py, onboard_llm/recovery_schema.py or onboard_llm/schema_export.py:

    python scripts/update_schemas.py          # rewrite the files
    python scripts/update_schemas.py --check  # exit 1 if any file is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onboard_llm.schema_export import SCHEMA_FILES, schema_file_text, write_schema_files

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "schemas", help="target folder (default: schemas/)")
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            name
            for name, model in SCHEMA_FILES.items()
            if not (args.dir / name).is_file()
            or (args.dir / name).read_text(encoding="utf-8") != schema_file_text(model)
        ]
        for name in stale:
            print(f"stale: {args.dir / name}")
        return 1 if stale else 0
    for path in write_schema_files(args.dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
