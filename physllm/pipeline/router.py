"""The precompute job's part router (pipeline/job.py runs it): decoded parts of videos handed to
CueWorker actors on Ray core, retries of a lost decoder or worker, and the wait for workers that
have not started. Why by hand rather than Ray Data: job.py's docstring.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

from physllm.data_catalog.record import VideoRecord
from physllm.errors import PhysllmError
from physllm.pipeline.staging import RecordFiles
from physllm.progress import console

MAX_VIDEO_ATTEMPTS = 3  # a video whose decoder or worker is lost this often is recorded failed
NOTICE_EVERY_S = 15.0  # with nothing progressing, say what the job waits for this often (or twice per timeout)


@dataclass
class VideoParts:
    """One video's cue rows as its parts come back, keyed by part index (a part seen twice counts once)."""

    parts: dict[int, list[dict]] = field(default_factory=dict)
    num_parts: int | None = None  # known once the last part arrives
    error: str = ""

    def add(self, part: dict) -> int:
        """Take a worker's part; returns the clips it adds."""
        if part["last"]:
            self.num_parts, self.error = part["part"] + 1, part["error"]
        if part["part"] in self.parts:
            return 0
        self.parts[part["part"]] = part["rows"]
        return len(part["rows"])

    def complete(self) -> bool:
        return self.num_parts is not None and len(self.parts) == self.num_parts

    def num_clips(self) -> int:
        return sum(map(len, self.parts.values()))

    def rows(self) -> list[dict]:
        return [row for index in sorted(self.parts) for row in self.parts[index]]



class PartRouter:
    """Hand each decoded part to a free, started worker; yield (video_id, clips gained, the
    video's parts once complete or None) as workers finish parts.

    Parts go from a decoder to a worker through Ray's object store, never through the driver; a
    decoder whose next part is ready waits (backpressure) until a worker is free to take it. Each
    worker holds two parts, the one it computes and the next, so it never waits on the driver.
    A worker takes parts only once it has started, so one that Ray cannot place never holds
    any. A decoder lost mid-video, or a worker lost for good (its node gone, its restarts spent),
    sends the whole video round again (its parts so far are dropped; a part is keyed by its
    index, so none counts twice), at most MAX_VIDEO_ATTEMPTS times. With nothing progressing the
    router says what it waits for every NOTICE_EVERY_S, and stops after `cfg.wait_timeout_s`.
    """

    def __init__(self, workers: list, decoder, cfg, plan, fetch: dict[str, RecordFiles]):
        """`cfg`: the job's PrecomputeConfig (its clips, batch_size and wait_timeout_s)."""
        import ray

        self.decoder, self.cfg, self.plan, self.fetch = decoder, cfg, plan, fetch
        self.starting = {w.ready.remote(): w for w in workers}  # ready() ref -> worker
        self.num_workers, self.started, self.lost = len(workers), 0, set()
        self.free: list = []  # a started worker appears twice: the part it computes and the next
        self.running: dict = {}  # cues() ref -> (worker, video_id, attempt)
        self.decoding: dict = {}  # ObjectRefGenerator -> (video_id, attempt)
        self.todo: list[str] = []
        self.records: dict[str, VideoRecord] = {}
        self.attempt: dict[str, int] = {}
        self.videos: dict[str, VideoParts] = {}
        self._ray = ray
        # a worker Ray will not bring back: dead, or its restart pinned to a node that has left
        self.worker_lost = (ray.exceptions.RayActorError, ray.exceptions.ActorUnschedulableError)

    def run(self, pending: list[VideoRecord]) -> Iterator[tuple[str, int, "VideoParts | None"]]:
        ray = self._ray
        self.records = {r.video_id: r for r in pending}
        self.attempt = {r.video_id: 1 for r in pending}
        self.todo = [r.video_id for r in reversed(pending)]
        notice_every = min(NOTICE_EVERY_S, self.cfg.wait_timeout_s / 2)
        last_event, notice_at = time.time(), notice_every
        while self.todo or self.decoding or self.running:
            while self.todo and len(self.decoding) <= self.plan.decoder_slots:  # one more waits in Ray's queue
                video_id = self.todo.pop()
                generator = self.decoder.remote(self.records[video_id], self.cfg.clips, self.cfg.batch_size,
                                                self.fetch.get(video_id))
                self.decoding[generator] = (video_id, self.attempt[video_id])
            waitables = list(self.starting) + list(self.running) + (list(self.decoding) if self.free else [])
            ready, _ = ray.wait(waitables, num_returns=1, timeout=notice_every)
            if not ready:
                idle = time.time() - last_event
                if idle >= self.cfg.wait_timeout_s:
                    raise PhysllmError(f"precompute made no progress for {idle:.0f} s (wait_timeout_s): "
                                       f"{self.state()}. The videos already written are kept; free "
                                       f"resources on the cluster (or ask for less) and run the command again.")
                if idle >= notice_at:
                    console.print(f"waiting {idle:.0f} s: {self.state()}", highlight=False, soft_wrap=True)
                    notice_at += notice_every
                continue
            last_event, notice_at = time.time(), notice_every
            if ready[0] in self.starting:
                self._worker_started(ready[0])
            elif isinstance(ready[0], ray.ObjectRefGenerator):
                yield from self._route_next_part(ready[0])
            else:
                yield from self._part_done(ready[0])

    def state(self) -> str:
        """What the job holds and waits for, in one line."""
        available = self._ray.available_resources()
        free = ", ".join(f"{name} {available.get(name, 0):g}" for name in ("CPU", "GPU"))
        waiting = (f", {len(self.starting)} not started yet (loading, or waiting for "
                   f"{self.plan.workers[0].resources()} on their node)" if self.starting else "")
        return (f"{self.started} of {self.num_workers} CueWorkers started{waiting}, {len(self.lost)} lost; "
                f"{len(self.running)} part(s) computing, {len(self.decoding)} video(s) decoding, "
                f"{len(self.todo)} queued; free on the cluster now: {free}")

    def _worker_started(self, ref) -> None:
        worker = self.starting.pop(ref)
        try:
            self._ray.get(ref)
        except self.worker_lost as exc:
            self._lose(worker, f"a CueWorker failed to start ({type(exc).__name__}): {exc}")
            return
        self.started += 1
        self.free += [worker, worker]

    def _lose(self, worker, reason: str) -> None:
        """A worker Ray will not bring back: no part goes to it again."""
        if id(worker) not in self.lost:
            self.lost.add(id(worker))
            self.free = [w for w in self.free if w is not worker]
            console.print(f"[yellow]warning:[/yellow] {reason.splitlines()[0]}", highlight=False, soft_wrap=True)
        if len(self.lost) == self.num_workers:
            raise PhysllmError(f"every CueWorker was lost ({reason.splitlines()[0]}); the videos already "
                               f"written are kept, run the command again to resume")

    def _route_next_part(self, generator) -> Iterator[tuple[str, int, "VideoParts | None"]]:
        video_id, attempt = self.decoding[generator]
        try:
            part_ref = next(generator)
        except StopIteration:
            del self.decoding[generator]
            return
        except self._ray.exceptions.RayError as exc:
            del self.decoding[generator]
            yield from self._retry(video_id, attempt, f"its decoder was lost ({type(exc).__name__})")
            return
        worker = self.free.pop()
        self.running[worker.cues.remote(part_ref)] = (worker, video_id, attempt)

    def _part_done(self, ref) -> Iterator[tuple[str, int, "VideoParts | None"]]:
        worker, video_id, attempt = self.running.pop(ref)
        try:
            part = self._ray.get(ref)
        except self.worker_lost as exc:  # restarts spent or its node gone
            self._lose(worker, f"a CueWorker was lost for good ({type(exc).__name__})")
            yield from self._retry(video_id, attempt, f"its CueWorker was lost ({type(exc).__name__})")
            return
        except self._ray.exceptions.RayError as exc:  # e.g. the part's decoder died under it
            self.free.append(worker)
            yield from self._retry(video_id, attempt, f"a part was lost ({type(exc).__name__})")
            return
        self.free.append(worker)
        if self.attempt[video_id] != attempt:
            return  # a part of an attempt already given up
        parts = self.videos.setdefault(video_id, VideoParts())
        gained = parts.add(part)
        finished = self.videos.pop(video_id) if parts.complete() else None
        yield video_id, gained, finished

    def _retry(self, video_id: str, attempt: int, reason: str) -> Iterator[tuple[str, int, "VideoParts | None"]]:
        """Send a video round again from its first frame, or record it failed after the last try."""
        if self.attempt[video_id] != attempt:
            return  # this attempt is already being retried
        self.attempt[video_id] = attempt + 1
        dropped = self.videos.pop(video_id, VideoParts()).num_clips()
        for generator, (other, _) in list(self.decoding.items()):
            if other == video_id:
                del self.decoding[generator]
                self._ray.cancel(generator)
        if attempt >= MAX_VIDEO_ATTEMPTS:
            yield video_id, -dropped, VideoParts(error=f"lost {attempt} times on the cluster; last: {reason}")
            return
        console.print(f"[yellow]warning:[/yellow] {video_id}: {reason}; computing it again "
                      f"(attempt {attempt + 1} of {MAX_VIDEO_ATTEMPTS})", highlight=False, soft_wrap=True)
        self.todo.append(video_id)
        yield video_id, -dropped, None
