"""Group commit for unsubscribes: one SQLite transaction for every request that is waiting.

A commit is the expensive part of a write (one WAL append per transaction). Requests hand their
unsubscribe to this writer and await the result; the writer takes everything queued since its last
turn and commits it at once, in a worker thread. Under load the batches grow by themselves (whatever
arrives during one commit is the next batch); a lone request is written at once. A request is answered only after its row is committed, so a 200 always means
"recorded".
"""

from __future__ import annotations

import asyncio

from webzine.serve.store import Store, UnsubscribeRequest

MAX_BATCH = 512


class UnsubscribeWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: asyncio.Queue[tuple[UnsubscribeRequest, asyncio.Future[tuple[bool, str]]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
                # in a thread: a commit that has to wait for the disk (a WAL checkpoint's fsync)
                # must not stall every other request; the next batch gathers meanwhile
                results = await asyncio.to_thread(self.store.record_unsubscribes, [r for r, _ in batch])
            except Exception as exc:  # every waiting request learns the write failed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            finally:
                for _ in batch:
                    queue.task_done()

    async def close(self) -> None:
        """Finish what is queued and being written, then stop."""
        if self._task is None or self._queue is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
