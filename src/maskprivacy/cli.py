"""The ``maskprivacy`` command. Each stage registers its own sub-commands (see COMMAND_MODULES)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Stage modules that expose ``register(subparsers)``; heavy imports stay inside their handlers so
# that ``--help`` is instant.
COMMAND_MODULES = (
    "maskprivacy.data.cli",
    "maskprivacy.masking.cli",
    "maskprivacy.training.dlib_cli",
    "maskprivacy.reproduce_cli",
    "maskprivacy.report.cli",
    "maskprivacy.training.cli",
    "maskprivacy.privacy.cli",
    "maskprivacy.analysis.cli",
    "maskprivacy.analysis.protect_cli",
)


def build_parser() -> argparse.ArgumentParser:
    from maskprivacy import __version__

    parser = argparse.ArgumentParser(
        prog="maskprivacy",
        description="Does a face mask protect my privacy? Mask faces, train attacker models that predict sex, "
        "race and age from them, and score what the mask hides.",
    )
    parser.add_argument("--version", action="version", version=f"maskprivacy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as e:
        print(f"maskprivacy: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `maskprivacy ... | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
