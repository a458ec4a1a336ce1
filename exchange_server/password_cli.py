"""``cml-exchange hash-password``: print the scrypt hash of a password for the configuration.

The password is read from standard input (one line; a pipe or a redirect) or, on a terminal, asked for
twice without echo. It is never taken as an argument: arguments end up in the shell history and in
``ps``. The printed ``scrypt$...`` line goes into ``CML_EXCHANGE_PASSWORD`` / ``CML_ADMIN_PASSWORD`` (or
``exchange_password`` / ``admin_password`` in the TOML file)::

    $ cml-exchange hash-password
    Password:
    Again:
    scrypt$16384$8$1$...

    $ printf '%s\\n' "$NODE_PASSWORD" | cml-exchange hash-password
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from exchange_server.passwords import hash_password, is_password_hash

__all__ = ["register", "run_hash_password"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hash-password`` to the cml-exchange parser."""
    command = sub.add_parser(
        "hash-password",
        help="print the scrypt hash of a password (read from stdin or asked for) for the settings",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.set_defaults(run=run_hash_password)


def _read(stdin: TextIO) -> str | None:
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            print("cml-exchange hash-password: the two entries differ", file=sys.stderr)
            return None
        return first
    return stdin.readline().rstrip("\r\n")


def run_hash_password(args: argparse.Namespace) -> int:
    password = _read(sys.stdin)
    if password is None:
        return 1
    if not password:
        print("cml-exchange hash-password: empty password refused", file=sys.stderr)
        return 2
    if is_password_hash(password):
        print("cml-exchange hash-password: that is already a hash (scrypt$...)", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0
