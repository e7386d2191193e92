"""``kavka completion bash|zsh|fish``: print the shell completion script (click's own machinery)."""

from __future__ import annotations

import click

__all__ = ["completion"]


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell):
    """Print the completion script for SHELL.

    \b
    Examples:
      eval "$(kavka completion bash)"            # in ~/.bashrc
      kavka completion zsh > ~/.zfunc/_kavka
      kavka completion fish > ~/.config/fish/completions/kavka.fish
    """
    from click.shell_completion import get_completion_class

    from kavka.cli.main import main

    cls = get_completion_class(shell)
    click.echo(cls(main, {}, "kavka", "_KAVKA_COMPLETE").source())
