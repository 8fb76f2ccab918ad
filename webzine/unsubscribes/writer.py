"""Group commit for unsubscribes: one transaction for every request that is waiting.

A commit is the expensive part of a write (one WAL append and fsync per transaction). Requests
hand their unsubscribe to this writer and await the result; the writer takes everything queued
since its last turn and commits it at once. Under load the batches grow by themselves (whatever
arrived while the loop was busy is the next batch); a lone request is written on the next loop
turn. WAL checkpoints run in another thread when writes pause, so no commit waits for one. A
request is answered only after its row is committed to disk, so a 200 always means "recorded".
"""

from __future__ import annotations

import asyncio
import time

from webzine.unsubscribes.store import Store, UnsubscribeRequest

MAX_BATCH = 512
CHECKPOINT_WHEN_IDLE = 1.0  # seconds without writes before the WAL is checkpointed
CHECKPOINT_AT_LEAST_EVERY = 60.0  # under sustained writes, so the WAL stays bounded


class UnsubscribeWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: asyncio.Queue[tuple[UnsubscribeRequest, asyncio.Future[tuple[bool, str]]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._checkpointed = time.monotonic()
        self._idle: asyncio.TimerHandle | None = None
        self.last_write = float("-inf")  # time.monotonic() of the last commit

    async def record(self, request: UnsubscribeRequest) -> tuple[bool, str]:
        """(first time?, when recorded) once the row is committed."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._queue is None or self._loop is not loop:
            # first use, or the app now runs on another loop (a test client's): start afresh there
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue), name="webzine-unsubscribe-writer")
        future: asyncio.Future[tuple[bool, str]] = loop.create_future()
        self._queue.put_nowait((request, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[UnsubscribeRequest, asyncio.Future[tuple[bool, str]]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                # On the loop thread, deliberately: with checkpoints moved out of commits, a
                # commit waits only for one WAL fsync (synchronous=FULL), shared by the whole
                # batch; requests arriving meanwhile queue in the socket and form the next batch.
                # A worker thread would have to win the GIL back from the busy loop after every
                # SQLite call (5 ms switch interval each time).
                # PostgreSQL is across a network: its round trips must not stall the loop, so that
                # store is written from a worker thread (one batch at a time, as here).
                requests = [r for r, __ in batch]
                if not self.store.dialect.over_network:
                    results = self.store.record_unsubscribes(requests)
                else:
                    results = await asyncio.get_running_loop().run_in_executor(
                        None, self.store.record_unsubscribes, requests
                    )
            except Exception as exc:  # every waiting request learns the write failed
                for __, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (__, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            finally:
                for __ in batch:
                    queue.task_done()
            self.last_write = time.monotonic()
            self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        """Checkpoint the WAL once writes pause (or at least once a minute), in another thread.

        A checkpoint briefly holds SQLite locks; a commit that meets them waits in SQLite's busy
        handler, on the loop thread. Run during a burst, that stalled every request for 20–40 ms
        each time (bench_serve.py); run in the pauses, nobody waits."""
        loop = asyncio.get_running_loop()
        if self._idle is not None:
            self._idle.cancel()
        if time.monotonic() - self._checkpointed >= CHECKPOINT_AT_LEAST_EVERY:
            self._start_checkpoint()
        else:
            self._idle = loop.call_later(CHECKPOINT_WHEN_IDLE, self._start_checkpoint)

    def _start_checkpoint(self) -> None:
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._checkpointed = time.monotonic()
        self._checkpoint = asyncio.get_running_loop().run_in_executor(None, self.store.checkpoint)

    def seconds_since_last_write(self) -> float:
        return time.monotonic() - self.last_write

    async def close(self) -> None:
        """Finish what is queued and being written, then stop."""
        if self._task is None or self._queue is None:
            return
        await self._queue.join()
        if self._idle is not None:
            self._idle.cancel()
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
