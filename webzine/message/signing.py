"""DKIM signatures on every core.

One RSA-2048 signature costs more CPU than building the message it signs (bench/README.md), and
the GIL keeps it on one core. `SigningPool` moves only that operation into worker processes: the
parent canonicalises and hashes (`DkimSigner.prepare`) and sends a 32-byte digest; a worker
returns the 256-byte signature; the parent completes the header. The message itself never
crosses a process boundary. The workers are forked when the pool is made, before the send starts
its threads: they share the parent's pages instead of importing webzine again (which `spawn`
would do, re-running the caller's script), and get the key through their start-up arguments,
never through a file.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from webzine.message.dkim import DkimSigner, rsa_sign

# The worker process's key, set once by `_load_key` when the process starts: a process pool
# passes state to its workers only through an initializer.
_worker_key: rsa.RSAPrivateKey | None = None
_PARENT_CHECK_SECONDS = 0.2


def _start_worker(pem: bytes, parent: int) -> None:
    global _worker_key
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    _worker_key = key
    threading.Thread(target=_exit_with, args=(parent,), name="webzine-signing-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    """A send killed outright (SIGKILL, OOM) cannot stop its workers, and a worker blocked on the
    pool's queue would wait forever, holding the send's stdout and stderr open: leave when the
    parent is gone."""
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


def _sign_in_worker(digests: list[bytes]) -> list[bytes]:
    assert _worker_key is not None
    return [rsa_sign(_worker_key, digest) for digest in digests]


def _ready() -> None:
    """Nothing: the first call on the pool, which starts the workers."""


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class PendingSignatures:
    """The `DKIM-Signature:` headers of a batch of messages being computed; `result()` waits."""

    headers: list[str]
    signatures: Future[list[bytes]]

    def result(self) -> list[bytes]:
        return [DkimSigner.complete(h, s) for h, s in zip(self.headers, self.signatures.result(), strict=True)]


def signing_pool(signer: DkimSigner | None) -> SigningPool | None:
    """A pool when there is something to sign and more than one core to sign on."""
    cores = usable_cores()
    return SigningPool(signer, cores) if signer is not None and cores > 1 else None


class SigningPool:
    """`signer`'s signatures computed by `workers` processes. Use as a context manager.

    Messages go to the workers `batch` at a time: handing one task to a process pool costs about
    as much CPU as the signature itself (measured), a batch shares that cost."""

    batch = 16

    def __init__(self, signer: DkimSigner, workers: int) -> None:
        self.signer = signer
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_start_worker, initargs=(signer.private_pem(), os.getpid()))
        self._pool.submit(_ready).result()  # a fork context starts every worker on the first call

    def submit(self, messages: list[bytes]) -> PendingSignatures:
        prepared = [self.signer.prepare(message) for message in messages]
        digests = [digest for _, digest in prepared]
        return PendingSignatures([header for header, _ in prepared], self._pool.submit(_sign_in_worker, digests))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SigningPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
