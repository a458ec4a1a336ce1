"""The `cml-exchange` command line: one program, one sub-command per job.

Each package contributes its sub-commands through a ``register(subparsers)`` function; the
sub-parser stores a ``run`` callable (``argparse.Namespace -> int``, the exit code).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from b24_bridge import cli as b24_cli
from b24_bridge.invoices import cli as b24_invoices_cli
from b24_bridge.sync import cli as b24_sync_cli
from commerceml import cli as commerceml_cli
from commerceml import tools_cli as commerceml_tools_cli
from exchange_server import demo, docs_cli, password_cli, serve_cli

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

COMMAND_MODULES: tuple[ModuleType, ...] = (
    commerceml_cli,
    commerceml_tools_cli,
    serve_cli,
    demo,
    docs_cli,
    password_cli,
    b24_cli,
    b24_sync_cli,
    b24_invoices_cli,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cml-exchange",
        description="Exchange node between 1C:Enterprise (CommerceML) and Bitrix24.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `cml-exchange inspect --records big.xml | head`: the reader went away; that is fine.
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
