"""The web console served by ``kavka serve`` (see docs/console.md). Importing this package imports nothing
else: the web stack loads in :mod:`kavka.console.app`, only when the console starts."""
