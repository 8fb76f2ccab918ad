"""DKIM signatures on every core.

One RSA-2048 signature and the SHA-256 of a 130 KB body cost more CPU than building the message
(bench/README.md), and the GIL keeps them on one core. `SigningPool` signs in worker processes,
a batch of messages per task (handing one task to a process pool costs about as much CPU as a
signature: a batch shares that cost); the parent only prepends the headers they return. The
workers are forked when the pool is made, before the send starts its threads: they inherit the
signer (its key never goes through a pipe or a file) and share the parent's pages instead of
importing webzine again, as `spawn` would (re-running the caller's script).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType

from webzine.message.dkim import DkimSigner

# The worker process's signer, set once by `_start_worker` when the process starts: a process
# pool passes state to its workers only through an initializer.
_worker_signer: DkimSigner | None = None
_PARENT_CHECK_SECONDS = 0.2


def _start_worker(signer: DkimSigner, parent: int) -> None:
    global _worker_signer
    _worker_signer = signer
    threading.Thread(target=_exit_with, args=(parent,), name="webzine-signing-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """A send killed outright (SIGKILL, OOM) cannot stop its workers, and a worker blocked on the
    pool's queue would wait forever, holding the send's stdout and stderr open: leave when the
    parent is gone."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


def _sign_in_worker(messages: list[bytes]) -> list[bytes]:
    assert _worker_signer is not None
    return [_worker_signer.sign(message) for message in messages]


def _ready() -> None:
    """Nothing: the first call on the pool, which starts the workers."""


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def signing_pool(signer: DkimSigner | None) -> SigningPool | None:
    """A pool when there is something to sign and more than one core to sign on."""
    cores = usable_cores()
    return SigningPool(signer, cores) if signer is not None and cores > 1 else None


class SigningPool:
    """`signer`'s signatures computed by `workers` processes, `batch` messages per task. Use as
    a context manager."""

    batch = 16

    def __init__(self, signer: DkimSigner, workers: int) -> None:
        self.signer = signer
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_start_worker, initargs=(signer, os.getpid()))
        self._pool.submit(_ready).result()  # a fork context starts every worker on the first call

    def submit(self, messages: list[bytes]) -> Future[list[bytes]]:
        """The `DKIM-Signature:` header of each message, in order."""
        return self._pool.submit(_sign_in_worker, messages)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SigningPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
