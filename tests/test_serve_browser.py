"""Issue 12, cases 3 and 11 in a real headless Chromium (Debian's): a page on a second origin cannot
change or fill `livematte serve`; the server's own page asks for the token once, and its background menu
shows what the server uses."""
from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from serve_process import Serve, free_port, request

CHROMIUM = Path("/usr/bin/chromium")
DEADLINE_MS = 60_000
SERVER_BACKGROUND = "color:#00B140"
TOKEN = "a-token-for-the-browser-test"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (.ci/run installs it with apt-get)")

# What a hostile page on another origin can send without the user doing anything: "simple" requests
# (no preflight), an auto-submitted form, and a read of /stats.
ATTACK = """async (target) => {
  const r = {};
  const send = async (name, path, init) => {
    try { await fetch(target + path, { method: "POST", mode: "no-cors", ...init }); r[name] = "sent"; }
    catch (e) { r[name] = "failed: " + e; }
  };
  await send("plain", "/settings", { headers: { "Content-Type": "text/plain" },
                                     body: JSON.stringify({ background: "color:#FF0000" }) });
  const form = new FormData(); form.append("background", "color:#FF0000");
  await send("multipart", "/settings", { body: form });
  await send("urlencoded", "/settings", { body: new URLSearchParams({ background: "color:#FF0000" }) });
  for (let i = 0; i < 6; i++)
    await send("offer" + i, "/offer", { headers: { "Content-Type": "text/plain" },
                                        body: JSON.stringify({ sdp: "x", type: "offer", mode: "x" }) });
  try { r.stats = await (await fetch(target + "/stats")).text(); } catch (e) { r.stats = "blocked: " + e; }
  return r;
}"""


class _Hostile(http.server.BaseHTTPRequestHandler):
    def do_GET(self):   # noqa: N802 - http.server's name
        body = b"<!doctype html><title>another site</title><p>nothing to see"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def second_origin():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Hostile)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def browser(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            yield context
        finally:
            context.close()


def server_view(server: Serve, headers=None) -> dict:
    status, _, raw = request(server.url + "/config", headers=headers)
    assert status == 200, raw
    _, _, stats = request(server.url + "/stats", headers=headers)
    return {"background": json.loads(raw).get("background"), "peers": json.loads(stats)["peers"]}


def test_a_page_on_another_origin_cannot_change_or_fill_the_server(tmp_path, second_origin, browser):
    server = Serve(tmp_path / "serve", "--background", SERVER_BACKGROUND, "--max-peers", "4").wait_ready()
    try:
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(second_origin + "/")
        results = page.evaluate(ATTACK, server.url)
        assert results["stats"].startswith("blocked"), results      # no CORS: nothing read back
        assert server_view(server) == {"background": SERVER_BACKGROUND, "peers": 0}
        log = server.log()
        assert "Traceback" not in log, log
    finally:
        server.stop()


def test_the_page_asks_for_the_token_once_and_shows_the_servers_background(tmp_path, browser):
    server = Serve(tmp_path / "serve", "--background", SERVER_BACKGROUND,
                   env={"LIVEMATTE_TOKEN": TOKEN}).wait_ready()
    try:
        asked: list[str] = []

        def answer(dialog):
            asked.append(dialog.message)
            dialog.accept(TOKEN)

        page = browser.pages[0] if browser.pages else browser.new_page()
        page.on("dialog", answer)
        page.goto(server.url + "/")
        page.wait_for_function("window.livematte.configLoaded === true", timeout=DEADLINE_MS)
        assert len(asked) == 1 and "token" in asked[0]
        # the menu shows the server's background, not the first option
        assert page.input_value("#background") == "color"
        assert page.input_value("#color") == "#00b140"
        assert page.text_content("#error") == ""
        page.reload()
        page.wait_for_function("window.livematte.configLoaded === true", timeout=DEADLINE_MS)
        assert len(asked) == 1, "asked for the token again within the same session"
        # the page's own settings go through with the token it keeps
        page.select_option("#background", "blur")
        page.click("#apply")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        end = time.monotonic() + DEADLINE_MS / 1000
        while server_view(server, auth)["background"] != "blur" and time.monotonic() < end:
            page.wait_for_timeout(100)
        assert server_view(server, auth)["background"] == "blur", page.text_content("#error")
    finally:
        server.stop()
