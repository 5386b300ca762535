"""Starts the eddy binary named by EDDY_BIN (the Rust test harness sets it)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading

import pytest

LISTENING = re.compile(r"eddy listening on (http://[\d.:]+)")
ADMIN_TOKEN = "eddy-test-admin-token-0123456789"


class Server:
    def __init__(self, port=0):
        binary = os.environ.get("EDDY_BIN")
        if not binary:
            raise RuntimeError("EDDY_BIN must name the eddy binary")
        env = {k: v for k, v in os.environ.items() if k != "EDDY_CONFIG"}
        env["EDDY_ADMIN_TOKEN"] = ADMIN_TOKEN
        self.data_dir = tempfile.mkdtemp(prefix="eddy-py-")
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{port}", "--log", "warn", "--data-dir", self.data_dir,
             "--ping-interval-ms", "300", "--ping-timeout-ms", "200", "--connect-timeout-ms", "1000"],
            stdout=subprocess.PIPE, text=True, env=env,
        )
        found = threading.Event()
        self.url = None

        def read():
            for line in self.process.stdout:
                match = LISTENING.search(line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(10):
            self.process.kill()
            raise RuntimeError("eddy did not start")
        self.port = int(self.url.rsplit(":", 1)[1])

    def admin(self, method, path, **kwargs):
        """An admin API call; returns the decoded JSON (raises on an error status)."""
        import requests

        reply = requests.request(
            method, f"{self.url}/admin/api/v1{path}",
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10, **kwargs,
        )
        reply.raise_for_status()
        return reply.json() if reply.content else None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(10)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return code


@pytest.fixture
def server():
    s = Server()
    yield s
    assert s.stop() == 0


@pytest.fixture
def start_server():
    started = []

    def start(port=0):
        s = Server(port)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
