"""Reading and checking what clients upload, before anything is queued. Every refusal is a FieldError
naming the field (`image`, `image[2]`, `zip`, `zip:name.jpg`, `video`) and what is wrong with it.

Bytes are counted while reading, so a body over the limit is cut off, not buffered; images are checked
from their header (format, pixel count) before any decode; a zip is checked member by member (count,
declared and actual sizes) so that a small zip cannot expand into gigabytes; a video is probed by
FFmpeg from a file the server names, for its duration and frame count.
"""
from __future__ import annotations

import io
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field

from aiohttp import BodyPartReader
from aiohttp.http_exceptions import HttpProcessingError
from PIL import Image, UnidentifiedImageError

from ..config import ServiceConfig
from .options import FieldError

IMAGE_FORMATS = {"PNG", "JPEG", "WEBP", "TIFF", "BMP", "MPO"}
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/tiff", "image/bmp"}
FILE_FIELDS = ("image", "zip", "video")
_TEXT_LIMIT = 1024
_MAX_TEXT_FIELDS = 16
_DIRECTORY_BYTES_PER_FILE = 2048     # a central directory entry: 46 bytes, its name and extras
_CHUNK = 1 << 16
warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # we check the pixels ourselves


@dataclass
class Upload:
    files: list[tuple[str, str, bytes]] = field(default_factory=list)   # (field, client file name, bytes)
    fields: dict[str, str] = field(default_factory=dict)


async def read_multipart(request, limit: int) -> Upload:
    """Every part of a multipart body; files are kept in memory up to `limit` bytes in all."""
    if not request.content_type.startswith("multipart/form-data"):
        raise FieldError("body", f"expected multipart/form-data, got {request.content_type or 'nothing'}", 415)
    upload = Upload()
    total = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):      # a nested multipart: no field of ours is one
                raise FieldError("body", "nested multipart parts are not accepted")
            name = part.name or ""
            if part.filename is None and name not in FILE_FIELDS:
                if len(upload.fields) >= _MAX_TEXT_FIELDS:     # a handful of options, never thousands
                    raise FieldError(name, f"more than {_MAX_TEXT_FIELDS} text fields", 413)
                text = await _read_text(part)
                total += len(name) + len(text)      # text counts toward the limit too
                if total > limit:
                    raise FieldError(name, f"request larger than the limit of {limit} bytes", 413)
                if len(text) > _TEXT_LIMIT or name in upload.fields:
                    raise FieldError(name, "too long or given twice")
                upload.fields[name] = text.decode("utf-8", "replace")
                continue
            if name not in FILE_FIELDS:
                raise FieldError(name or "(unnamed)", f"unknown file field; expected one of {', '.join(FILE_FIELDS)}")
            chunks = []
            while chunk := await part.read_chunk(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise FieldError(name, f"upload larger than the limit of {limit} bytes", 413)
                chunks.append(chunk)
            upload.files.append((name, part.filename or "", b"".join(chunks)))
    except (ValueError, AssertionError, HttpProcessingError) as exc:     # aiohttp's malformed-multipart errors
        raise FieldError("body", f"malformed multipart body: {exc}") from None
    return upload


async def _read_text(part) -> bytes:
    """A text field whole, up to one byte past _TEXT_LIMIT: read_chunk returns what one read of the
    stream gave, so a value split across TCP segments would otherwise arrive cut short."""
    text = b""
    while len(text) <= _TEXT_LIMIT and (chunk := await part.read_chunk(_TEXT_LIMIT + 1)):
        text += chunk
    return text


async def read_body(request, limit: int) -> bytes:
    chunks, total = [], 0
    while chunk := await request.content.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise FieldError("body", f"upload larger than the limit of {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def check_image(name: str, data: bytes, max_pixels: int) -> None:
    """Refuse what is not an image of a supported format or has too many pixels, from the header only."""
    if not data:
        raise FieldError(name, "empty file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
    except Image.DecompressionBombError as exc:
        raise FieldError(name, f"too many pixels ({exc})", 413) from None
    except UnidentifiedImageError:
        raise FieldError(name, "not an image this service reads (png, jpeg, webp, tiff, bmp)", 415) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise FieldError(name, f"unreadable image header: {exc}", 415) from None
    if fmt not in IMAGE_FORMATS:
        raise FieldError(name, f"image format {fmt} is not accepted (png, jpeg, webp, tiff, bmp)", 415)
    if width * height > max_pixels:
        raise FieldError(name, f"{width}x{height} is {width * height} pixels, over the limit of {max_pixels}", 413)


def zip_members(name: str, data: bytes, service: ServiceConfig) -> list[tuple[str, bytes]]:
    """(member name, bytes) of every file in the zip, with the total bounded by max_upload_bytes."""
    # zipfile parses the whole central directory into objects before we can count them (1M entries in
    # 47 MB: 460 MB and 15 s); its size, from the end record, bounds that first.
    end = zipfile._EndRecData(io.BytesIO(data))     # noqa: SLF001 - the stdlib's own end-record reader
    if end is not None and end[zipfile._ECD_SIZE] > service.max_images * _DIRECTORY_BYTES_PER_FILE:
        raise FieldError(name, f"a central directory of {end[zipfile._ECD_SIZE]} bytes, more than "
                               f"{service.max_images} files need", 413)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FieldError(name, f"not a zip file: {exc}", 415) from None
    members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
    if not members:
        raise FieldError(name, "the zip holds no files")
    if len(members) > service.max_images:
        raise FieldError(name, f"{len(members)} files, over the limit of {service.max_images} per job", 413)
    budget = service.max_upload_bytes
    out = []
    with archive:
        for member in members:
            if member.file_size > budget:
                raise FieldError(f"{name}:{member.filename}", "expands past the upload limit", 413)
            try:
                with archive.open(member) as stream:
                    content = stream.read(budget + 1)     # the header's size may lie: never read past the budget
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
                raise FieldError(f"{name}:{member.filename}", f"unreadable: {exc}") from None
            if len(content) > budget:
                raise FieldError(f"{name}:{member.filename}", "expands past the upload limit", 413)
            budget -= len(content)
            out.append((member.filename, content))
    return out


def check_video(name: str, data: bytes, service: ServiceConfig, max_pixels: int) -> dict:
    """Probe the video with FFmpeg (from a file the server names); returns {seconds, frames, width, height}."""
    import av

    handle, path = tempfile.mkstemp(prefix="livematte-probe-", suffix=".video")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        try:
            with av.open(path) as container:
                if not container.streams.video:
                    raise FieldError(name, "no video stream in this file", 415)
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                seconds = float(stream.duration * stream.time_base) if stream.duration else \
                    (container.duration or 0) / av.time_base
                frames = stream.frames or (round(seconds * rate) if rate else 0)
                width, height = stream.codec_context.width, stream.codec_context.height
                # A header may say nothing (a raw H.264 stream, a live MKV: 0 s, 0 frames) or lie:
                # the packets say what the workers would render. Counted, not decoded, up to the limit.
                counted, span = _count_packets(container, stream, service)
                frames, seconds = max(frames, counted), max(seconds, span)
        except av.FFmpegError as exc:
            reason = str(exc).replace(path, "the upload")     # the server's file names stay its own
            raise FieldError(name, f"not a video this service reads: {reason}", 415) from None
    finally:
        os.unlink(path)
    if seconds > service.max_video_seconds:
        raise FieldError(name, f"{seconds:.1f} s long, over the limit of {service.max_video_seconds} s", 413)
    if frames > service.max_video_frames:
        raise FieldError(name, f"{frames} frames, over the limit of {service.max_video_frames}", 413)
    if width * height > max_pixels:
        raise FieldError(name, f"{width}x{height} frames, over the limit of {max_pixels} pixels", 413)
    return {"seconds": seconds, "frames": frames, "width": width, "height": height}


def _count_packets(container, stream, service: ServiceConfig) -> tuple[int, float]:
    """(video packets, seconds from the first to the last timestamp), stopping past either limit."""
    count, first, last, span = 0, None, None, 0.0
    for packet in container.demux(stream):
        if not packet.size:
            continue
        count += 1
        if packet.pts is not None:
            first = packet.pts if first is None else min(first, packet.pts)
            last = packet.pts if last is None else max(last, packet.pts)
        span = float((last - first) * stream.time_base) if first is not None and stream.time_base else 0.0
        if count > service.max_video_frames or span > service.max_video_seconds:
            break
    return count, span


def display_name(filename: str, fallback: str) -> str:
    """The client's file name, for reports only (outputs are named by the server): printable, short."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in base if c.isprintable())[:120]
    return clean or fallback
