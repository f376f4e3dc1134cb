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

from aiohttp.http_exceptions import HttpProcessingError
from PIL import Image, UnidentifiedImageError

from ..config import ServiceConfig
from .options import FieldError

IMAGE_FORMATS = {"PNG", "JPEG", "WEBP", "TIFF", "BMP", "MPO"}
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/tiff", "image/bmp"}
FILE_FIELDS = ("image", "zip", "video")
_TEXT_LIMIT = 1024
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
            name = part.name or ""
            if part.filename is None and name not in FILE_FIELDS:
                text = await part.read_chunk(_TEXT_LIMIT + 1)
                total += len(text)
                if len(text) > _TEXT_LIMIT or name in upload.fields:
                    raise FieldError(name, "too long or given twice")
                if total > limit:
                    raise FieldError(name, f"upload larger than the limit of {limit} bytes", 413)
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
        except av.FFmpegError as exc:
            raise FieldError(name, f"not a video this service reads: {exc}", 415) from None
    finally:
        os.unlink(path)
    if seconds > service.max_video_seconds:
        raise FieldError(name, f"{seconds:.1f} s long, over the limit of {service.max_video_seconds} s", 413)
    if frames > service.max_video_frames:
        raise FieldError(name, f"{frames} frames, over the limit of {service.max_video_frames}", 413)
    if width * height > max_pixels:
        raise FieldError(name, f"{width}x{height} frames, over the limit of {max_pixels} pixels", 413)
    return {"seconds": seconds, "frames": frames, "width": width, "height": height}


def display_name(filename: str, fallback: str) -> str:
    """The client's file name, for reports only (outputs are named by the server): printable, short."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in base if c.isprintable())[:120]
    return clean or fallback
