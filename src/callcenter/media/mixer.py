"""N-party audio mixing with a hearing matrix: conferences and supervisor modes.

Each member's decoded inbound audio is queued (``feed``); on each 20 ms tick the mixer takes one
frame per member into an (n × 160) int32 matrix F and computes every member's output at once as
H·F, where H[i][j] = 1 when member i hears member j, then clips to int16. The diagonal is always
zero (nobody hears their own voice). A conference is all ones; ``monitor`` (supervisor hears both
parties, is heard by none), ``whisper`` (supervisor heard by the agent only) and ``barge``
(three-way) are other matrices over the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from callcenter.media.codec import FRAME, Pcm

_MAX_BACKLOG = FRAME * 2 * 10  # bytes: 200 ms per member


def conference_matrix(ids: Sequence[int]) -> dict[int, set[int]]:
    return {i: {j for j in ids if j != i} for i in ids}


def monitor_matrix(caller: int, agent: int, supervisor: int) -> dict[int, set[int]]:
    return {caller: {agent}, agent: {caller}, supervisor: {caller, agent}}


def whisper_matrix(caller: int, agent: int, supervisor: int) -> dict[int, set[int]]:
    return {caller: {agent}, agent: {caller, supervisor}, supervisor: {caller, agent}}


def barge_matrix(caller: int, agent: int, supervisor: int) -> dict[int, set[int]]:
    return conference_matrix([caller, agent, supervisor])


class Mixer:
    """Members by endpoint id; the engine feeds inbound frames and ticks it before playout."""

    def __init__(self, hears: Mapping[int, set[int]]) -> None:
        self.ids: list[int] = []
        self._pending: dict[int, bytearray] = {}
        self._out: dict[int, Pcm] = {}
        self._matrix: npt.NDArray[np.int32] = np.zeros((0, 0), np.int32)
        self.set_hears(hears)

    def set_hears(self, hears: Mapping[int, set[int]]) -> None:
        ids = sorted(set(hears) | {j for heard in hears.values() for j in heard})
        index = {eid: k for k, eid in enumerate(ids)}
        matrix = np.zeros((len(ids), len(ids)), np.int32)
        for listener, heard in hears.items():
            for speaker in heard:
                if speaker != listener:
                    matrix[index[listener], index[speaker]] = 1
        self.ids = ids
        self._matrix = matrix
        self._pending = {eid: self._pending.get(eid, bytearray()) for eid in ids}

    def hears(self, listener: int) -> set[int]:
        row = self._matrix[self.ids.index(listener)]
        return {self.ids[k] for k in np.flatnonzero(row)}

    def feed(self, eid: int, pcm: Pcm) -> None:
        buf = self._pending.get(eid)
        if buf is None:
            return
        buf += pcm.astype("<i2", copy=False).tobytes()
        if len(buf) > _MAX_BACKLOG:
            del buf[: len(buf) - _MAX_BACKLOG]

    def tick(self) -> None:
        frames = np.zeros((len(self.ids), FRAME), np.int32)
        for k, eid in enumerate(self.ids):
            buf = self._pending[eid]
            if len(buf) >= FRAME * 2:
                frames[k] = np.frombuffer(bytes(buf[: FRAME * 2]), "<i2")
                del buf[: FRAME * 2]
        mixed = np.clip(self._matrix @ frames, -32768, 32767).astype(np.int16)
        self._out = {eid: mixed[k] for k, eid in enumerate(self.ids)}

    def next_frame(self, ep: object) -> Pcm | None:
        eid = getattr(ep, "id", None)
        return self._out.get(eid) if isinstance(eid, int) else None
