"""Helpers for the asyncio tasks of the server shell (and the console, which sits above it)."""

from __future__ import annotations

import asyncio

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Cancel ``task`` (if any) and wait until it has finished; its CancelledError ends here.

    A task that ended by itself before is awaited all the same, so an exception it raised is not lost.
    """
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
