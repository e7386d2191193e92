"""``kavka demo <name>``: run one of the guide's system designs against a broker.

Each demo lives in its own package under `kavka.demos` and exposes a click command as
``kavka.demos.<name>.command:<name>``; it is imported only when that demo runs.
"""

from __future__ import annotations

import importlib

import click

# "name": ("module", "attribute"), as in kavka.cli.main.
_DEMOS = {
    "ecommerce": ("kavka.demos.ecommerce.command", "ecommerce"),
    "payments": ("kavka.demos.payments.command", "payments"),
}


class _DemoGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_DEMOS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _DEMOS:
            return None
        module, attr = _DEMOS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=_DemoGroup, short_help="Run one of the guide's system designs.")
def demo() -> None:
    """Run one of the guide's system designs against a broker."""
