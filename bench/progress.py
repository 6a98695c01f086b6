"""Progress bars on stderr for the long phases (tqdm), silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def bar(total: int | None, description: str) -> Any:
    """A tqdm bar; disabled when nobody watches, so logs and CI output stay clean."""
    return tqdm(total=total, desc=description, disable=not sys.stderr.isatty(), leave=False)
