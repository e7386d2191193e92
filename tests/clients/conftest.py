"""Fixtures for the real-client tests; the helpers themselves live in ``clientlib.py`` beside this file."""

from __future__ import annotations

import sys
from pathlib import Path

# Make ``import clientlib`` work whatever pytest's import mode is.
sys.path.insert(0, str(Path(__file__).parent))
