"""Long videos across workers: split at keyframes, render the chunks apart, join them without re-encoding.

plan_chunks reads the packets only (no decode): a chunk starts at the first keyframe at least
chunk_frames frames after the previous chunk's start, so every chunk decodes on its own. A worker
renders a chunk from the original file, seeking to the keyframe before `warm`: the overlap_frames
frames before the chunk's start go through the stages too (and are not written), so temporal
smoothing enters the chunk already settled, as it would in one long render. Frames keep their source
timestamps, so the chunks' outputs, laid end to end by join_chunks, carry exactly the timestamps of a
single render; the original's audio packets are copied in beside them.
"""
from __future__ import annotations

import heapq
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import av

from ..config import Config
from ..errors import InputError, OutputError
from ..sources.av import AvSource


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int            # pts of its first frame, a keyframe
    end: int | None       # pts of the next chunk's first frame; None for the last chunk
    warm: int             # pts of the first frame run through the stages (overlap before `start`)
    frames: int           # frames it writes
    first: int = 0        # index of its first frame in the whole clip (the quality report counts in these)

    def as_dict(self) -> dict:
        return asdict(self)


def plan_chunks(path: Path, chunk_frames: int, overlap: int) -> list[Chunk]:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.size]
    except (av.FFmpegError, IndexError) as exc:
        raise InputError(f"video: cannot read its packets: {exc}") from None
    if not packets:
        raise InputError("video: no video packets")
    if any(pts is None for pts, _ in packets):    # no timestamps to cut by: one chunk, the whole clip
        return [Chunk(0, 0, None, 0, len(packets), 0)]
    order = sorted(pts for pts, _ in packets)
    position = {pts: i for i, pts in enumerate(order)}
    starts = [order[0]]
    for pts in sorted(pts for pts, key in packets if key):
        if position[pts] - position[starts[-1]] >= chunk_frames:
            starts.append(pts)
    chunks = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else None
        first, last = position[start], position[end] if end is not None else len(order)
        chunks.append(Chunk(k, start, end, order[max(0, first - overlap)], last - first, first))
    return chunks


class _SeekingSource(AvSource):
    """An AvSource that starts decoding at the keyframe at or before `seek_pts`."""

    def __init__(self, uri: str, seek_pts: int, **kwargs):
        self._seek_pts = seek_pts
        super().__init__(uri, **kwargs)

    def _setup(self) -> None:
        super()._setup()
        if self._seek_pts:
            self._container.seek(self._seek_pts, stream=self._stream, backward=True, any_frame=False)


def render_chunk(source: Path, output: Path, config: Config, engine, chunk: Chunk) -> tuple[list[str], dict]:
    """Render one chunk through the same stages as `livematte render`. Returns the source's and sink's
    warnings (corrupt packets skipped, size changes) and the quality flags of its frames, as render
    checks them: {flag: [frame index in the clip, ...]}."""
    from ..quality import FrameFlags, QualityCheck
    from ..sinks import open_sink, sink_kind
    from ..sinks.file import takes_i420
    from ..stages import build_stages, run_stages
    from ..threads import opencv_threads

    kind = sink_kind(str(output), config.output)
    i420 = not config.output.matte_only and takes_i420(kind)
    quality = FrameFlags(QualityCheck(config.quality, feather=config.refine.feather))
    with _SeekingSource(str(source), chunk.warm, audio=False) as video, opencv_threads(1):
        stages = build_stages(config, engine, video=True, i420=i420)

        def frames():
            for frame in video.frames():
                if chunk.end is not None and frame.pts >= chunk.end:
                    return
                if frame.pts >= chunk.warm:
                    yield frame

        with open_sink(str(output), config.output, like=video) as sink:
            for frame in run_stages(stages, frames()):
                if frame.pts >= chunk.start:
                    quality.add(chunk.first + sink.frames_written, frame.alpha)
                    sink.write(frame)
        skipped = [f"skipped a corrupt packet: {e['reason']}" for e in video.errors]
        warnings = [*video.warnings, *skipped, *sink.warnings]
    if sink.frames_written != chunk.frames:
        raise InputError(f"video: chunk {chunk.index} wrote {sink.frames_written} frames, expected {chunk.frames}")
    return warnings, quality.flagged


def join_chunks(parts: list[Path], original: Path, output: Path, *, audio: bool) -> list[str]:
    """Lay the chunks' video packets end to end, with the original's audio, into `output` (atomically).
    Returns warnings (audio that could not be carried over)."""
    warnings: list[str] = []
    temp = output.with_name(f".{output.stem}.partial-{os.getpid()}{output.suffix}")
    inputs = [av.open(str(p)) for p in parts]
    source = av.open(str(original))
    try:
        first = inputs[0].streams.video[0]
        for k, part in enumerate(inputs[1:], 1):
            if part.streams.video[0].codec_context.extradata != first.codec_context.extradata:
                raise OutputError(f"video: chunk {k} was encoded with other parameters; cannot join without "
                                  f"re-encoding")
        with av.open(str(temp), "w") as out:
            video_out = out.add_stream_from_template(first)
            streams = [_packets(part, part.streams.video[0], video_out) for part in inputs]
            video = (packet for chunk in streams for packet in chunk)
            audio_in = source.streams.audio[0] if audio and source.streams.audio else None
            if audio_in is not None and audio_in.codec_context.name in out.supported_codecs:
                audio_out = out.add_stream_from_template(audio_in)
                merged = heapq.merge(video, _packets(source, audio_in, audio_out), key=lambda p: p.dts * p.time_base)
            else:
                if audio_in is not None:
                    warnings.append(f"audio {audio_in.codec_context.name} cannot be copied into "
                                    f"{output.suffix}; the video has no sound")
                merged = video
            for packet in merged:
                out.mux(packet)
        os.replace(temp, output)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        for container in [*inputs, source]:
            container.close()
    return warnings


def _packets(container, stream, target):
    for packet in container.demux(stream):
        if packet.dts is None:        # the demuxer's flushing packet
            continue
        packet.stream = target
        yield packet
