"""`make lab` starts JupyterLab on book/ with the project's kernel, with no manual step (also as root)."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def lab_server(tmp_path):
    port = free_port()
    log = tmp_path / "lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0"
    with log.open("w") as out:
        process = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            match = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", log.read_text())
            if match:
                break
            if process.poll() is not None:
                pytest.fail(f"make lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start within 90 s:\n{log.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{port}", match.group(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_lab_serves_the_chapters_with_the_venv_kernel(lab_server):
    base, token = lab_server
    specs = get_json(f"{base}/api/kernelspecs?token={token}")
    assert specs["default"] == "python3"
    python = Path(specs["kernelspecs"]["python3"]["spec"]["argv"][0])
    assert python.is_relative_to(ROOT / ".venv"), python  # the venv, not a kernel from $HOME
    names = {item["name"] for item in get_json(f"{base}/api/contents?token={token}")["content"]}
    chapters = {path.name for path in (ROOT / "book").glob("[0-9][0-9]_*.ipynb")}
    assert chapters and chapters <= names
