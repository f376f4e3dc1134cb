"""Uploaded background images: received to a private folder within a byte limit, checked to be a PNG,
JPEG or WebP within [input] max_pixels from its header before a pixel is decoded, decoded once to prove it
is whole, kept at most STORED_SIDE pixels on its long side (a live background is never drawn larger, and
every later build of it then reads the small copy), and deleted as soon as no background uses it.

A client names an upload by its id (`upload:ID`), never by a path; the server turns that into its own
`image:PATH` spec, and turns the path back into `upload:ID` before anything is shown to a client.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import tempfile
from pathlib import Path

from ..errors import ConfigError

log = logging.getLogger(__name__)

FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
STORED_SIDE = 3840


class UploadError(ConfigError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Uploads:
    def __init__(self, max_bytes: int, max_pixels: int, decode_lock: asyncio.Lock | None = None) -> None:
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self._dir = tempfile.TemporaryDirectory(prefix="livematte-uploads-")
        self.folder = Path(self._dir.name)
        self._files: dict[str, Path] = {}
        self._pending: set[str] = set()       # received, not yet in a background: collect() leaves them
        # one decode at a time (shared with the settings that build backgrounds): one image at the limit
        self._decode = decode_lock or asyncio.Lock()

    async def receive(self, part) -> str:
        """Stream one multipart part to disk and check it; returns its id. UploadError (400/413) if refused,
        and then nothing is left behind."""
        upload_id = secrets.token_hex(8)
        raw = self.folder / f"{upload_id}.part"
        size = 0
        try:
            with open(raw, "wb") as file:   # noqa: ASYNC230 - a local temp file, 256 kB writes
                while chunk := await part.read_chunk(256 * 1024):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadError(413, f"uploaded background {part.filename!r}: larger than "
                                               f"[live] max_upload_bytes = {self.max_bytes:,} bytes")
                    file.write(chunk)
            if size == 0:
                raise UploadError(400, f"uploaded background {part.filename!r}: empty file")
            async with self._decode:
                suffix = await asyncio.get_running_loop().run_in_executor(None, self._check, raw, part.filename)
        except BaseException:
            raw.unlink(missing_ok=True)
            raise
        path = raw.rename(raw.with_suffix(suffix))
        self._files[upload_id] = path
        self._pending.add(upload_id)
        return upload_id

    def _check(self, path: Path, filename: str) -> str:
        from PIL import Image, UnidentifiedImageError

        what = f"uploaded background {filename!r}"
        try:
            with Image.open(path, formats=list(FORMATS)) as image:    # the header only
                width, height = image.size
                if width * height > self.max_pixels:
                    raise UploadError(413, f"{what}: {width}×{height} = {width * height:,} pixels is above "
                                           f"[input] max_pixels = {self.max_pixels:,}")
                image.draft("RGB", (STORED_SIDE, STORED_SIDE))       # JPEG: decoded at a reduced scale
                image.load()                                          # every pixel: a truncated file fails
                if max(image.size) <= STORED_SIDE:
                    return FORMATS[image.format]
                image.thumbnail((STORED_SIDE, STORED_SIDE))
                small = path.with_suffix(".small")
                image.save(small, format="PNG", compress_level=1)
            small.replace(path)
            return ".png"
        except UploadError:
            raise
        except UnidentifiedImageError:
            raise UploadError(400, f"{what}: expected a PNG, JPEG or WebP image") from None
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
            raise UploadError(400, f"{what}: not a whole PNG, JPEG or WebP image: {exc}") from None

    def spec(self, upload_id: str) -> str:
        path = self._files.get(upload_id)
        if path is None:
            raise ConfigError(f"background = 'upload:{upload_id}': no such upload (it is deleted once no "
                              "background uses it; upload the image again)")
        return f"image:{path}"

    def public(self, spec: str) -> str | None:
        """`upload:ID` for a spec naming one of our files, else None."""
        for upload_id, path in self._files.items():
            if spec == f"image:{path}":
                return f"upload:{upload_id}"
        return None

    def settled(self, upload_id: str) -> None:
        """The request that brought this upload is done with it: from now on only use keeps it."""
        self._pending.discard(upload_id)

    def collect(self, specs_in_use: set[str]) -> None:
        """Delete every upload no background in `specs_in_use` names (and no request still holds)."""
        for upload_id, path in list(self._files.items()):
            if upload_id not in self._pending and f"image:{path}" not in specs_in_use:
                path.unlink(missing_ok=True)
                del self._files[upload_id]
                log.info("upload %s deleted: no background uses it", upload_id)

    def __len__(self) -> int:
        return len(self._files)

    def close(self) -> None:
        self._files.clear()
        self._dir.cleanup()
