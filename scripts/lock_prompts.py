"""Pin every released prompt version's sha256 in its prompt's released.lock.

    python scripts/lock_prompts.py            # pin new releases; refuse to change a pin
    python scripts/lock_prompts.py --force    # also re-pin edited releases (rarely right)

A released prompt is immutable: when its files change, make a new version
(prompts/NAME/vN+1) instead of re-pinning the old one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onboard_llm.errors import PromptError
from onboard_llm.prompts import lock_released

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts-dir", type=Path, default=ROOT / "prompts", help="default: prompts/")
    parser.add_argument("--force", action="store_true", help="re-pin released versions whose files changed")
    args = parser.parse_args(argv)
    try:
        done = lock_released(args.prompts_dir, force=args.force)
    except PromptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in done:
        print(line)
    if not done:
        print(f"no released versions under {args.prompts_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
