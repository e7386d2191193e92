"""Fixtures for the real-client tests; the helpers themselves live in ``clientlib.py`` beside this file
(imported as ``tests.clients.clientlib``)."""

from __future__ import annotations
