"""The commands consent request, consent confirm and consent inbox (issue 16)."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]

COMMANDS: list[click.Command] = []
