"""The writer lock of an index in a Chroma server: a lease in the meta collection's ``lock``.

The lock is a lease, because Chroma has no compare-and-set: read ``lock``; refuse if
another owner's lease has not expired; write ours; wait ``CONFIRM_PAUSE``; read it back and
refuse unless it is still ours; renew it every ``LEASE / 3`` seconds in a thread; check it again
right before publishing. Residual race: two writers whose writes land more than
``CONFIRM_PAUSE`` apart *and* whose read-backs both precede the later write can both believe
they hold it (e.g. one stalled for seconds between its read and its write), and a writer whose
clock runs ``LEASE`` seconds fast can take over a live lease. Neither can corrupt the index: each
generation is a fresh collection written by one process with deterministic chunk ids (so no
duplicates), and publishing is one upsert, so the worst case is two complete generations
where the last published wins and the other writer's work is wasted.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from askdef.errors import IndexLockedError

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

LEASE = 30.0  # seconds a writer's lock lives without renewal (a crashed writer's lock expires)
CONFIRM_PAUSE = 0.5  # seconds between writing the lease and reading it back


def meta_vectors(n: int) -> Any:
    """Vectors for ``n`` meta records: theirs carry no meaning, but Chroma needs one."""
    return [[1.0]] * n


class LeaseLock:
    """One writer at a time for the index whose meta collection ``meta`` returns."""

    def __init__(
        self,
        meta: Callable[[], Collection],
        url: str,
        unavailable: Callable[[], AbstractContextManager[None]],
    ) -> None:
        """``url`` names the server in messages; ``unavailable`` turns a lost connection into
        askdef's error while the lease is taken."""
        self._meta = meta
        self.url = url
        self._unavailable = unavailable
        self._owner: str | None = None
        self._lost = threading.Event()

    def _lease(self) -> tuple[str, float] | None:
        got = self._meta().get(ids=["lock"], include=["documents"])
        if not got["ids"]:
            return None
        try:
            raw = json.loads((got["documents"] or [""])[0])
            return str(raw["owner"]), float(raw["expires"])
        except (ValueError, KeyError, TypeError):
            return None  # a damaged lease is no lease

    def _write_lease(self, owner: str) -> None:
        record = json.dumps({"owner": owner, "expires": time.time() + LEASE})
        self._meta().upsert(ids=["lock"], documents=[record], embeddings=meta_vectors(1))

    def _refuse(self, holder: str) -> IndexLockedError:
        return IndexLockedError(
            f"Another askdef process ({holder}) is writing the index on the Chroma server at "
            f"{self.url}; wait for it to finish (only one writer at a time keeps the store "
            f"consistent). A crashed writer's lock expires after {LEASE:.0f} s."
        )

    def check(self) -> None:
        """``IndexLockedError`` if this process held the lease and has lost it since."""
        if self._owner is None:
            return
        lease = self._lease()
        if self._lost.is_set() or lease is None or lease[0] != self._owner:
            raise self._refuse(lease[0] if lease else "unknown")

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Take the lease (``IndexLockedError`` while another writer holds it), renew it while
        the block runs, and give it back after."""
        me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        with self._unavailable():
            lease = self._lease()
            if lease and lease[0] != me and lease[1] > time.time():
                raise self._refuse(lease[0])
            self._write_lease(me)
            time.sleep(CONFIRM_PAUSE)  # let a concurrent writer's lease land, then compare
            lease = self._lease()
            if lease is None or lease[0] != me:
                raise self._refuse(lease[0] if lease else "unknown")
        self._owner = me
        self._lost.clear()
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(me, stop), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._owner = None
            with contextlib.suppress(Exception):
                lease = self._lease()
                if lease and lease[0] == me:
                    self._meta().delete(ids=["lock"])

    def _renew(self, me: str, stop: threading.Event) -> None:
        while not stop.wait(LEASE / 3):
            try:
                lease = self._lease()
                if lease is None or lease[0] != me:
                    self._lost.set()
                    return
                self._write_lease(me)
            except Exception:  # the server is away: the main thread sees the same failure
                continue
