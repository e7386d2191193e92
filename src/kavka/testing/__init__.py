"""Test support shipped with Kavka: an in-process broker and its pytest fixture, a subprocess broker,
an in-memory file system that can crash. Only tests import this package."""
