"""The commands retention schedule, plan and apply (issue 16)."""

from __future__ import annotations

import click

__all__ = ["COMMANDS"]

COMMANDS: list[click.Command] = []
