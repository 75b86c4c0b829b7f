"""Secrets kept in files under var/ (embedded mode's generated keys, the demo password):
readable by their owner only."""

import os
from pathlib import Path


def write_secret(path: Path, value: str) -> None:
    """Write a secret readable by its owner only (0600), whatever the umask; an older
    file made world-readable is narrowed too."""
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: theirs stands
        else:
            with os.fdopen(fd, "w") as file:
                file.write(value)
    path.chmod(0o600)
