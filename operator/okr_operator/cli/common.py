"""What the subcommands share: the type of the subparser collection."""

from __future__ import annotations

import argparse
from typing import TypeAlias

# argparse exposes no public name for what add_subparsers returns.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
