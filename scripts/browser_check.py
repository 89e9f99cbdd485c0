#!/usr/bin/env python3
"""Drives `formcheck serve`'s page in a real browser: Debian's headless Chromium through
chromedriver (W3C WebDriver over plain HTTP, Python's standard library only).

    scripts/browser_check.py BASE_URL CLIP OUT_DIR

Opens BASE_URL at phone width (390 px), sets the file input to CLIP as a user picking it from
the camera roll would, types an athlete's name, presses upload, waits until the page shows the
clip done (live status, no reload), opens its result page, checks that the video element can
play (readyState >= 2), that the rep cards are there and that tapping a rep seeks the video, and
saves screenshots at 390 px and 1280 px in OUT_DIR. Prints one JSON line with what it saw;
exits 1 on any failed check.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["chromedriver", f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self.call("GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--autoplay-policy=no-user-gesture-required",
                            "--window-size=390,844",
                        ],
                    },
                }
            }
        }
        self.session = self.call("POST", "/session", caps)["value"]["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read() or b"{}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)["value"]

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def find(self, css):
        v = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(v.values()))

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait(self, script, what, timeout_s=300):
        t0 = time.time()
        while time.time() - t0 < timeout_s:
            v = self.js(script)
            if v:
                return v
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}")

    def size(self, w, h):
        self.s("POST", "/window/rect", {"width": w, "height": h})

    def screenshot(self, path):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return len(png)

    def quit(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        finally:
            self.proc.kill()


def main():
    base, clip, out = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    d = Driver()
    seen = {}
    try:
        d.go(base + "/")
        file_input = d.find("input[type=file]")
        d.s("POST", f"/element/{file_input}/value", {"text": clip})
        athlete = d.find("input[name=athlete]")
        d.s("POST", f"/element/{athlete}/value", {"text": "Browser Test"})
        d.s("POST", f"/element/{d.find('button[type=submit]')}/click", {})
        # Live status on the same page: the upload row goes through the stages to done.
        stages = set()
        t0 = time.time()
        while time.time() - t0 < 300:
            state = d.js(
                "const li = document.querySelector('li.upload-item');"
                "return li ? [li.dataset.status || '', li.querySelector('.state').textContent] : null;"
            )
            if state:
                stages.add(state[1].split(" ")[0])
                if state[0] == "done":
                    break
                if state[0] == "failed":
                    raise AssertionError("the clip failed: " + state[1])
            time.sleep(0.3)
        else:
            raise AssertionError("the upload never showed done")
        seen["stages_shown"] = sorted(stages)
        seen["upload_png_bytes"] = d.screenshot(os.path.join(out, "upload-390.png"))
        href = d.js("return document.querySelector('li.upload-item a').href;")
        d.go(href)
        ready = d.wait(
            "const v = document.getElementById('video'); return v && v.readyState >= 2 ? v.readyState : 0;",
            "the video to be playable",
            60,
        )
        seen["video_ready_state"] = ready
        seen["rep_cards"] = d.js("return document.querySelectorAll('article.rep').length;")
        assert seen["rep_cards"] >= 1, "no rep cards"
        # Tapping a rep card seeks the video to it.
        target = d.js("return Number(document.querySelector('article.rep[data-seek]').dataset.seek);")
        d.s("POST", f"/element/{d.find('article.rep[data-seek]')}/click", {})
        time.sleep(1.0)
        now = d.js("return document.getElementById('video').currentTime;")
        seen["seek_target_s"], seen["video_time_after_tap_s"] = target, round(now, 2)
        assert abs(now - max(0.0, target - 0.5)) < 1.5, f"the tap did not seek: {now} vs {target}"
        d.js("const v = document.getElementById('video'); v.pause(); v.currentTime = Math.max(0, %f - 0.5);" % target)
        time.sleep(0.5)
        seen["result_390_png_bytes"] = d.screenshot(os.path.join(out, "result-390.png"))
        d.size(1280, 1000)
        time.sleep(0.5)
        seen["result_1280_png_bytes"] = d.screenshot(os.path.join(out, "result-1280.png"))
        d.go(base + "/")
        seen["upload_1280_png_bytes"] = d.screenshot(os.path.join(out, "upload-1280.png"))
    finally:
        d.quit()
    print(json.dumps(seen))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"browser_check: {e}", file=sys.stderr)
        sys.exit(1)
