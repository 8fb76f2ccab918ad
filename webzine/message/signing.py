"""DKIM signatures on every core.

One RSA-2048 signature costs about as much CPU as building the message (bench/README.md), and
the GIL keeps it on one core. `SigningPool` signs in worker processes, a batch of messages per
task (handing one task to a process pool costs about as much CPU as a signature: a batch shares
that cost). The parent hashes each body itself (one SHA-256 over ~130 KB, ~0.1 ms) and hands the
workers only the header blocks (~2 KB) and the body hashes: pickling and piping whole messages
cost the parent more than the hash, and the parent is the busier side. The workers are forked
when the pool is made, before the send starts its threads: they inherit the signer (its key never
goes through a pipe or a file) and share the parent's pages instead of importing webzine again,
as `spawn` would (re-running the caller's script).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from webzine.errors import SigningFailed
from webzine.i18n import _
from webzine.message.dkim import DkimSigner, body_hash, split_message

# The worker process's signer, set once by `_start_worker` when the process starts: a process
# pool passes state to its workers only through an initializer.
_worker_signer: DkimSigner | None = None
_PARENT_CHECK_SECONDS = 0.2
# The parent builds every message and is the send's bottleneck; with as many workers as cores, a
# worker sharing its core took ~12 % of the parent's time (measured: runnable, not running). A
# lower priority lets the workers sign in the time the parent leaves.
WORKER_NICENESS = 10


def _start_worker(signer: DkimSigner, parent: int) -> None:
    global _worker_signer
    _worker_signer = signer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the send stops them
    os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_with, args=(parent,), name="webzine-signing-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """A send killed outright (SIGKILL, OOM) cannot stop its workers, and a worker blocked on the
    pool's queue would wait forever, holding the send's stdout and stderr open: leave when the
    parent is gone."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


def _sign_in_worker(heads: list[tuple[bytes, str]]) -> list[bytes]:
    assert _worker_signer is not None
    return [_worker_signer.sign_head(head, hashed) for head, hashed in heads]


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

    def submit(self, messages: list[bytes]) -> PendingHeaders:
        """The `DKIM-Signature:` header of each message, in order, from `.result()`."""
        heads = []
        for message in messages:
            head, start = split_message(message)
            heads.append((head, body_hash(message, start)))
        try:
            return PendingHeaders(self._pool.submit(_sign_in_worker, heads))
        except BrokenProcessPool:
            raise _died() from None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SigningPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class PendingHeaders:
    """One batch's headers as the workers will answer them."""

    def __init__(self, signatures: Future[list[bytes]]) -> None:
        self._signatures = signatures

    def result(self) -> list[bytes]:
        try:
            return self._signatures.result()
        except BrokenProcessPool:
            raise _died() from None


def _died() -> SigningFailed:
    return SigningFailed(_("a DKIM signing process stopped (killed, or out of memory); the messages waiting "
                           "for a signature were not sent. Run the send again: it sends them."))
