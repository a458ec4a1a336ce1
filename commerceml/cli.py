"""CLI sub-commands of the commerceml package (filled in below)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commerceml sub-commands to the cml-exchange parser."""
