"""The upload page of `livematte api` in a real headless Chromium (Debian's): an image dropped on the page
comes back cut out beside the original, with a download; a clip chosen with the file picker becomes a
job whose rendered video plays in the page."""
from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from media import make_clip
from service_run import Service
from test_browser import CHROMIUM

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (.ci/run installs it with apt-get)")

DEADLINE_MS = 180_000
DROP = """async ([bytes, name, type]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
  document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
}"""
RESULT = """async () => {
  const buffer = await window.livematte.result.arrayBuffer();
  return Array.from(new Uint8Array(buffer));
}"""


@pytest.fixture(scope="module")
def local(tmp_path_factory, model_home):
    service = Service(tmp_path_factory.mktemp("page"), tokens=())
    try:
        service.start_api("--no-auth")
        service.start_worker("--concurrency", "1", "--threads", "1")
        yield service
    finally:
        service.stop()


def test_page_drop_an_image_and_a_clip(local, shared, tmp_path, artifacts):
    from playwright.sync_api import sync_playwright

    image = (shared / "testdata/stills_people/girl-2.jpg").read_bytes()
    width, height = Image.open(io.BytesIO(image)).size
    clip = make_clip(tmp_path / "clip.mp4", frames=12, size=(160, 96),
                     source=shared / "testdata/videos/bedroom_960x540.mp4")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(local.url + "/")
            page.select_option("#background", "transparent")
            page.evaluate(DROP, [list(image), "girl-2.jpg", "image/jpeg"])
            page.wait_for_function("window.livematte.done === true", timeout=DEADLINE_MS)
            assert page.text_content("#error") == ""
            page.wait_for_function("document.querySelector('#after img')?.naturalWidth > 0", timeout=DEADLINE_MS)
            assert page.evaluate("document.querySelector('#after img').naturalWidth") == width
            assert page.evaluate("document.querySelector('#before img').naturalWidth") == width
            assert page.get_attribute("#download", "href").startswith("blob:")
            result = np.asarray(Image.open(io.BytesIO(bytes(page.evaluate(RESULT)))))
            assert result.shape == (height, width, 4)
            assert 0 < (result[..., 3] > 128).mean() < 0.9           # a cut-out: some of it kept, not all
            page.screenshot(path=str(artifacts / "page_image.png"))
            page.set_input_files("#files", str(clip))
            page.wait_for_function("window.livematte.done === true && document.querySelector('#after video')",
                                   timeout=DEADLINE_MS)
            assert page.text_content("#error") == ""
            page.wait_for_function("document.querySelector('#after video').readyState >= 1", timeout=DEADLINE_MS)
            assert page.evaluate("document.querySelector('#after video').videoWidth") == 160
            assert page.text_content("#download").endswith(".mp4")
            page.screenshot(path=str(artifacts / "page_video.png"))
        finally:
            browser.close()
