"""Fixtures for the network-bounds tests; raw-wire helpers live in ``rawwire.py`` beside this file."""

from __future__ import annotations

import sys
from pathlib import Path

# Make ``import rawwire`` work whatever pytest's import mode is.
sys.path.insert(0, str(Path(__file__).parent))
