"""Makes the generated SDK in sdk/python importable without installing it."""

import pathlib
import sys

SDK = pathlib.Path(__file__).resolve().parents[3] / "sdk" / "python"
sys.path.insert(0, str(SDK))
