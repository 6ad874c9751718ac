"""The commands notice add/list/show, consent refresh and consent import (issue 16)."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]

COMMANDS: list[click.Command] = []
