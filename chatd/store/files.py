"""The embedded store's files are private: data directory 0700, database files 0600.

They hold every customer's transcript; other accounts on the machine have no business reading
them (the server's ``secret.key`` beside them is 0600 already). SQLite gives the ``-wal`` and
``-shm`` files it creates the mode of the database file, so creating that file 0600 before
SQLite opens it keeps all three private.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from chatd.logs import get_logger

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "prepare_private_database"]

log = get_logger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: Files SQLite keeps beside the database (WAL mode, and a rollback journal in older files).
_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def prepare_private_database(path: Path) -> None:
    """Create ``path``'s directory (0700) and the empty database file (0600) when missing.

    An existing database file, or a side file, that the group or others may access loses those
    bits (0644 becomes 0600) with a warning in the log: an older chatd created them so.
    The directory's mode is set only when it is created: it may be one the user shares on
    purpose (``--data-dir .``).
    """
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _SIDE_SUFFIXES)):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            try:
                file.chmod(mode & 0o700)
            except OSError as exc:
                log.warning("file_mode_not_tightened", path=str(file), error=str(exc))
            else:
                log.warning(
                    "file_mode_tightened",
                    path=str(file),
                    was=f"{mode:04o}",
                    now=f"{mode & 0o700:04o}",
                )
