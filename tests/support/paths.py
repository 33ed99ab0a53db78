"""Where the suite's fixed inputs are, whatever folder a test is filed in."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the checkout (or setup-and-run's copy of it)
EXAMPLE = REPO / "example-logs"  # the bundled records of a real Amanda lab
DATA = REPO / "tests" / "data"  # committed hostile and literal inputs
