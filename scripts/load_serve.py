#!/usr/bin/env python
"""A bounded load and fault test of ``maskprivacy serve``, on this machine only (127.0.0.1).

Starts ``maskprivacy serve`` on a free loopback port (models: ``--model RUN``, else a run of
untrained models from ``analysis/demo_run.py``, which cost what trained ones cost), then sends a
hostile mix at a set concurrency, for at most ``--requests`` requests and ``--duration`` seconds:

* valid photos (sample faces from ``--photos``, a 1024x768 group photo), and a flat 5400x5400 PNG;
* zero bytes, text sent as image/jpeg, a truncated JPEG;
* images too small or too thin for a face (1x1, 2x2, 1000x5, 20000x1) and the flat 30000x1000 PNG
  that used to segfault the server;
* decompression bombs: a PNG whose header claims 20000x20000 and a real flat 6000x6000 PNG (36 MP,
  over the 30 MP limit);
* wrong content types (text/plain, form-urlencoded, none), a cross-site ``Origin``, a foreign
  ``Host`` (DNS rebinding), a bad colour.

Then, one at a time, the attacks on time, each with ``/api/health`` and a normal photo measured
during it against the photo's usual time (PASS needs 200 within that time + 1 s):

* stalled uploads: 5 connections that send 10 of 100,000 declared bytes and stop (each must be
  dropped with 408 or a closed connection);
* slow decoding: a 5400x5400 progressive JPEG repeating one scan 10,000 times, and a form of
  200,000 empty parts (each refused within 2 s);
* ICO and ICNS files declaring 16x16 that embed a 10000x10000 PNG (refused, the server's peak RSS
  up by less than 50 MB);
* a 10 KB option value, a repeated option, Content-Length with Transfer-Encoding (4xx).

No 4xx answer of the whole run may be over 4 KB, and the server's RSS after all of it must be
within 50 MB of its level after warm-up.

Meanwhile it samples the server's resident memory (VmRSS in /proc/PID/status; VmHWM gives the
kernel's own peak) and the latency of /api/health (is the event loop free?). A "503 busy" answer
is retried after its Retry-After (``--retries`` times at most), as a polite client would; those 503s
are counted apart. It prints the final status codes per kind, latency percentiles, peak RSS and
whether the server survived. Exit status 1 when
the server died, answered any 5xx other than "503 busy" with a Retry-After header, or answered a
kind of request with a code that kind should never get; 0 otherwise.

    python scripts/load_serve.py                          # 300 requests, 8 at a time (minutes on 2 cores)
    python scripts/load_serve.py --requests 60 --concurrency 4
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

STALLED = 5  # stalled uploads at once
TARGET_EXTRA_S = 1.0  # a normal photo during an attack: its usual time + this
TARGET_REFUSE_S = 2.0  # a slow-decode attack refused or cut within this
TARGET_RSS_MB = 50  # ICO/ICNS bombs' peak RSS rise; RSS after the run above the warm level
MAX_4XX_BYTES = 4096

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only: this script never sends a packet off the machine


@dataclass
class Probe:
    """One kind of request and the status codes it may get (503 busy is always allowed)."""

    kind: str
    body: bytes
    ctype: str | None
    expect: tuple[int, ...]
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def png(w: int, h: int, value: int = 118) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", (w, h), (value, value, value)).save(b, "PNG")
    return b.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header claims width x height (refused from the header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def group_photo(faces: list[bytes]) -> bytes:
    canvas = np.full((768, 1024, 3), 118, np.uint8)
    for i, data in enumerate(faces[:4]):
        f = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((200, 200)))
        x, y = 30 + i * 250, 120 + (i % 2) * 330
        canvas[y : y + 200, x : x + 200] = f
    b = io.BytesIO()
    Image.fromarray(canvas).save(b, "JPEG", quality=92)
    return b.getvalue()


def build_mix(photos: Path, n_faces: int) -> list[Probe]:
    files = sorted(p for p in photos.glob("*.jpg") if p.name.count("_") >= 3)
    if not files:
        raise SystemExit(f"no sample faces (*.jpg) in {photos}")
    faces = [p.read_bytes() for p in files[:: max(1, len(files) // n_faces)][:n_faces]]
    jpg = faces[0]
    mix = [Probe(f"valid face {i}", f, "image/jpeg", (200,)) for i, f in enumerate(faces)]
    mix += [
        Probe("group photo 1024x768", group_photo(faces), "image/jpeg", (200,)),
        Probe("valid face, multipart", b"", None, (200,)),  # body built per request (multipart)
        Probe("flat PNG 5400x5400", png(5400, 5400), "image/png", (200,)),
        Probe("zero bytes", b"", "image/jpeg", (400,)),
        Probe("text as image/jpeg", b"not a photo at all\n" * 20, "image/jpeg", (415,)),
        Probe("truncated JPEG", jpg[: len(jpg) // 2], "image/jpeg", (415,)),
        Probe("PNG 1x1", png(1, 1), "image/png", (200,)),
        Probe("PNG 2x2", png(2, 2), "image/png", (200,)),
        Probe("PNG 1000x5", png(1000, 5), "image/png", (200,)),
        Probe("PNG 20000x1", png(20000, 1), "image/png", (200,)),
        Probe("PNG 30000x1000 (the crash)", png(30000, 1000), "image/png", (200,)),
        Probe("bomb: header 20000x20000", png_claiming(20000, 20000), "image/png", (413,)),
        Probe("bomb: flat 6000x6000 PNG", png(6000, 6000), "image/png", (413,)),
        Probe("JPEG as text/plain", jpg, "text/plain", (415,)),
        Probe("JPEG as form-urlencoded", jpg, "application/x-www-form-urlencoded", (415,)),
        Probe("JPEG without Content-Type", jpg, None, (415,)),
        Probe("cross-site Origin", jpg, "image/jpeg", (403,), headers={"Origin": "https://evil.example"}),
        Probe("foreign Host (DNS rebinding)", jpg, "image/jpeg", (400,), headers={"Host": "evil.example"}),
        Probe("bad colour", jpg, "image/jpeg", (422,), query="&mask_color=notacolour"),
    ]
    mix[len(faces) + 1].body = jpg
    return mix


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "load-serve-boundary-7d3f"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="me.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


BIGGEST_4XX = [0]  # bytes of the largest 4xx answer body seen


def send(port: int, p: Probe, timeout: float) -> tuple[int, float, str | None]:
    """(status or -1 for a dropped connection, seconds, the Retry-After header or None)."""
    body, ctype = multipart(p.body) if p.kind.endswith("multipart") else (p.body, p.ctype)
    headers = {"Host": f"{HOST}:{port}", **({"Content-Type": ctype} if ctype else {}), **p.headers}
    t = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", f"/api/analyze?mask_style=a{p.query}", body=body, headers=headers)
        r = conn.getresponse()
        n = len(r.read())
        if 400 <= r.status < 500:
            BIGGEST_4XX[0] = max(BIGGEST_4XX[0], n)
        return r.status, time.perf_counter() - t, r.getheader("Retry-After")
    except (OSError, http.client.HTTPException):
        return -1, time.perf_counter() - t, None
    finally:
        conn.close()


def rss_kb(pid: int, field: str = "VmRSS") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def tree_rss_kb(pid: int) -> int | None:
    """VmRSS of the server plus its child processes (dlib's CNN runs in one)."""
    own = rss_kb(pid)
    if own is None:
        return None
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    return own + sum(rss_kb(int(k)) or 0 for k in kids)


def health(port: int, timeout: float = 10) -> tuple[int, float]:
    t = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        conn.request("GET", "/api/health", headers={"Host": f"{HOST}:{port}"})
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.status, time.perf_counter() - t
    except (OSError, http.client.HTTPException):
        return -1, time.perf_counter() - t


def scan_bomb(side: int = 5400, repeats: int = 10_000) -> bytes:
    """A flat progressive JPEG whose last scan is repeated: each repeat is another pass of the decoder."""
    b = io.BytesIO()
    Image.new("L", (side, side), 118).save(b, "JPEG", progressive=True, quality=90)
    d = b.getvalue()
    last, eoi = d.rfind(b"\xff\xda"), d.rfind(b"\xff\xd9")
    return d[:eoi] + d[last:eoi] * repeats + d[eoi:]


def icon_bombs() -> tuple[bytes, bytes]:
    """(ICO, ICNS) declaring 16x16 and embedding a flat 10000x10000 PNG (Pillow decodes it on open)."""
    b = io.BytesIO()
    Image.new("1", (10000, 10000)).save(b, "PNG")
    big = b.getvalue()
    ico = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(big), 22) + big
    entry = b"ic10" + struct.pack(">I", 8 + len(big)) + big
    icns = b"icns" + struct.pack(">I", 8 + len(entry)) + entry
    return ico, icns


def raw(port: int, head: str, body: bytes = b"", timeout: float = 30) -> tuple[int, int, float]:
    """Send a hand-written request on a raw socket: (status or -1, answer body bytes, seconds)."""
    t = time.perf_counter()
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(head.replace("\n", "\r\n").encode() + body)
        return _answer(s, t)


def _answer(s: socket.socket, t: float) -> tuple[int, int, float]:
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < _expected(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    dt = time.perf_counter() - t
    if not data.startswith(b"HTTP/"):
        return -1, 0, dt
    status = int(data.split(b" ", 2)[1])
    n = len(data.split(b"\r\n\r\n", 1)[1]) if b"\r\n\r\n" in data else 0
    if 400 <= status < 500:
        BIGGEST_4XX[0] = max(BIGGEST_4XX[0], n)
    return status, n, dt


def _expected(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(head) + 4 + int(line.split(b":")[1])
    return 1 << 62  # read to the end of the connection


def during(port: int, photo: Probe, attack, timeout: float) -> tuple[object, tuple[int, float, str | None], float]:
    """Run ``attack()`` in a thread; meanwhile send ``photo`` and probe /api/health. (attack's result, photo, health s)."""
    out: dict[str, object] = {}
    th = threading.Thread(target=lambda: out.update(r=attack()))
    th.start()
    time.sleep(0.2)  # the attack is under way
    h = health(port)[1]
    got = send(port, photo, timeout)
    h = max(h, health(port)[1])
    th.join(timeout)
    return out.get("r"), got, h


def attacks_on_time(port: int, pid: int, photo: Probe, timeout: float) -> tuple[list[str], list[str]]:
    """The stalled-upload and slow-decode scenarios; (lines to print, failed targets)."""
    lines: list[str] = []
    failed: list[str] = []
    usual = sorted(send(port, photo, timeout)[1] for _ in range(3))[1]
    lines.append(
        f"normal photo alone: {usual:.3f} s (median of 3); target during an attack: {usual + TARGET_EXTRA_S:.3f} s"
    )

    def judge(name: str, got: tuple[int, float, str | None], h: float) -> None:
        code, dt, _ = got
        ok = code == 200 and dt <= usual + TARGET_EXTRA_S
        lines.append(
            f"  normal photo during it: {code} in {dt:.3f} s; /api/health max {h:.3f} s" + ("" if ok else "  MISSED")
        )
        if not ok:
            failed.append(f"{name}: normal photo {code} in {dt:.3f} s")

    # Stalled uploads: 10 of 100,000 declared bytes, then nothing.
    socks: list[socket.socket] = []
    t0 = time.perf_counter()
    for _ in range(STALLED):
        s = socket.create_connection((HOST, port), timeout=60)
        s.sendall(
            f"POST /api/analyze HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: 100000\r\n\r\n".encode()
            + b"\xff\xd8\xff"
            + b"\x00" * 7
        )
        socks.append(s)
    _, got, h = during(port, photo, lambda: None, timeout)
    dropped = []
    for s in socks:
        with s:
            dropped.append(_answer(s, t0))
    codes = Counter(c for c, _, _ in dropped)
    worst = max(dt for _, _, dt in dropped)
    lines.append(f"{STALLED} stalled uploads: answered {dict(codes)} (-1: closed), the last after {worst:.1f} s")
    if any(c not in (408, -1) for c in codes):
        failed.append(f"stalled uploads answered {dict(codes)}")
    judge("stalled uploads", got, h)

    # Slow decoding: the scan bomb and the part flood, each with a normal photo sent meanwhile.
    bomb = scan_bomb()
    scans = bomb.count(b"\xff\xda")
    flood = b"--B\r\n\r\n\r\n" * 200_000 + b"--B--\r\n"
    for name, body, ctype in (
        (
            f"scan-bomb JPEG ({len(bomb) / 1e6:.2f} MB, 5400x5400, {scans:,} scans)",
            bomb,
            "image/jpeg",
        ),
        (f"form of 200,000 empty parts ({len(flood) / 1e6:.1f} MB)", flood, "multipart/form-data; boundary=B"),
    ):
        head = (
            f"POST /api/analyze HTTP/1.1\nHost: {HOST}:{port}\nContent-Type: {ctype}\nContent-Length: {len(body)}\n\n"
        )
        res, got, h = during(port, photo, lambda head=head, body=body: raw(port, head, body), timeout)
        code, n, dt = res  # type: ignore[misc]
        ok = 400 <= code < 500 and dt <= TARGET_REFUSE_S
        lines.append(f"{name}: {code} ({n} bytes) in {dt:.3f} s" + ("" if ok else "  MISSED"))
        if not ok:
            failed.append(f"{name}: {code} in {dt:.3f} s")
        judge(name, got, h)

    # Formats that decode on open: the server's peak RSS (VmHWM, reset first) must rise by < 50 MB.
    for name, body, ctype in zip(("ICO bomb", "ICNS bomb"), icon_bombs(), ("image/x-icon", "image/icns")):
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            before = rss_kb(pid) or 0
        except OSError:
            before = None
        code, dt, _ = send(port, Probe(name, body, ctype, (415,)), timeout)
        rise = ((rss_kb(pid, "VmHWM") or 0) - before) / 1024 if before is not None else float("nan")
        ok = code == 415 and rise < TARGET_RSS_MB
        lines.append(
            f"{name} ({len(body):,} bytes): {code} in {dt:.3f} s, peak RSS +{rise:.0f} MB" + ("" if ok else "  MISSED")
        )
        if not ok:
            failed.append(f"{name}: {code}, +{rise:.0f} MB")

    # Echoes and framing.
    jpg = photo.body
    for name, query, extra, expect in (
        ("10 KB mask_color", "&mask_color=" + "z" * 10_000, "", 422),
        ("mask_style given twice", "&mask_style=zzz", "", 422),
        ("Content-Length with Transfer-Encoding", "", "Transfer-Encoding: chunked\n", 400),
    ):
        head = (
            f"POST /api/analyze?mask_style=a{query} HTTP/1.1\nHost: {HOST}:{port}\nContent-Type: image/jpeg\n"
            f"{extra}Content-Length: {len(jpg)}\n\n"
        )
        code, n, dt = raw(port, head, jpg)
        lines.append(f"{name}: {code} ({n} bytes)" + ("" if code == expect else "  MISSED"))
        if code != expect:
            failed.append(f"{name}: {code}")
    return lines, failed


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument("--model", help="run directory (default: a run of untrained models made in a temporary folder)")
    ap.add_argument("--photos", default="/work/shared/data/utkface-sample", help="folder of sample faces (*.jpg)")
    ap.add_argument("--faces", type=int, default=6, help="distinct valid faces in the mix")
    ap.add_argument("--requests", type=int, default=300, help="requests to send at most")
    ap.add_argument("--duration", type=float, default=300, help="stop sending after this many seconds")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    ap.add_argument("--timeout", type=float, default=120, help="seconds a request may take before it counts as dropped")
    ap.add_argument("--seed", type=int, default=0, help="order of the mix")
    ap.add_argument(
        "--retries",
        type=int,
        default=6,
        help="a 503 with Retry-After is retried after that many seconds, at most this many times "
        "(as a polite client would); the table counts those 503s separately",
    )
    ap.add_argument(
        "--serve-args", default="", help="extra arguments for `maskprivacy serve`, e.g. '--max-concurrent 2'"
    )
    ap.add_argument("--start-timeout", type=float, default=600, help="seconds the server may take to start")
    ap.add_argument(
        "--no-attacks", dest="attacks", action="store_false", help="skip the stalled-upload and slow-decode scenarios"
    )
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="load_serve_")
    model = args.model
    if model is None:
        sys.path.insert(0, str(REPO / "src"))
        from maskprivacy.analysis.demo_run import make_demo_run

        model = str(make_demo_run(Path(tmp.name) / "demo"))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [
        sys.executable,
        "-m",
        "maskprivacy.cli",
        "serve",
        "--model",
        model,
        "--host",
        HOST,
        "--port",
        str(port),
        *args.serve_args.split(),
    ]
    # The server's stderr goes to a file, not a pipe: nobody would read a pipe while the load runs.
    log = open(Path(tmp.name) / "serve.log", "w+")
    started = time.time()
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        mix = build_mix(Path(args.photos), args.faces)  # while the server loads its models
        deadline = time.time() + args.start_timeout
        while health(port, 2)[0] != 200:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                server.wait()
                log.seek(0)
                print("server did not start:", log.read()[-2000:], file=sys.stderr)
                return 1
            time.sleep(0.3)
        print(f"server up after {time.time() - started:.0f} s; sending", file=sys.stderr)
        # Warm-up: the lazily loaded 68-point predictor (a face), and dlib's CNN (a small faceless image).
        send(port, mix[0], args.timeout)
        send(port, Probe("warm-up", png(300, 300), "image/png", (200,)), args.timeout)
        first_kb = tree_rss_kb(server.pid) or 0
        # Then one photo of each kind that is analysed: buffers sized by the first large photo, a group
        # of faces, a form (a one-time rise of about 80 MB that later photos reuse) belong to a warm server.
        for p in mix:
            if p.expect == (200,):
                send(port, p, args.timeout)
        base_kb = tree_rss_kb(server.pid) or 0
        base_own_kb = rss_kb(server.pid) or 0

        samples: list[int] = []
        health_lat: list[float] = []
        health_bad = Counter()
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                v = tree_rss_kb(server.pid)
                if v:
                    samples.append(v)
                time.sleep(0.05)

        def probe_health() -> None:
            while not stop.is_set():
                code, dt = health(port)
                health_lat.append(dt)
                if code != 200:
                    health_bad[code] += 1
                stop.wait(0.5)

        threads = [threading.Thread(target=sample, daemon=True), threading.Thread(target=probe_health, daemon=True)]
        for t in threads:
            t.start()
        rng = random.Random(args.seed)
        order = [mix[i % len(mix)] for i in range(args.requests)]
        rng.shuffle(order)
        results: dict[str, list[tuple[int, float, str | None]]] = defaultdict(list)
        busy: Counter = Counter()  # 503 answers that were retried
        t0 = time.time()

        done = [0]

        def one(p: Probe) -> None:
            if time.time() - t0 > args.duration or server.poll() is not None:
                return
            for attempt in range(args.retries + 1):
                code, dt, retry_after = send(port, p, args.timeout)
                if code == 503 and retry_after and retry_after.isdigit() and attempt < args.retries:
                    busy[p.kind] += 1
                    time.sleep(int(retry_after))
                    continue
                break
            results[p.kind].append((code, dt, retry_after))
            done[0] += 1
            if done[0] % 25 == 0:
                print(f"  {done[0]} answered, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

        with ThreadPoolExecutor(args.concurrency) as ex:
            list(ex.map(one, order))
        wall = time.time() - t0
        stop.set()
        for t in threads:
            t.join(5)
        alive = server.poll() is None and health(port)[0] == 200
        hwm_kb = rss_kb(server.pid, "VmHWM")
        time_lines: list[str] = []
        time_failed: list[str] = []
        if args.attacks and alive:
            print("attacks on time...", file=sys.stderr, flush=True)
            time_lines, time_failed = attacks_on_time(port, server.pid, mix[0], args.timeout)
            alive = server.poll() is None and health(port)[0] == 200
        time.sleep(1)
        end_kb = tree_rss_kb(server.pid) or 0
        end_own_kb = rss_kb(server.pid) or 0
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        log.close()
        tmp.cleanup()

    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    ).stdout.strip()
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: {os.cpu_count()} cores, {cpu}; python {platform.python_version()}; "
        f"commit {commit}{' + uncommitted changes' if dirty else ''}"
    )
    print(f"server: {' '.join(['maskprivacy', *cmd[3:]])}" + ("" if args.model else "  (untrained demo run)"))
    sent = sum(len(v) for v in results.values())
    print(f"load: {sent} requests in {wall:.1f} s, {args.concurrency} at a time, {len(mix)} kinds (seed {args.seed})")

    all_codes: Counter = Counter()
    bad: list[str] = []
    lat_all: list[float] = []
    lat_ok: list[float] = []
    print(f"{'kind':34s} {'n':>4s}  final codes (503s retried after Retry-After)")
    for p in mix:
        rs = results.get(p.kind, [])
        codes = Counter(c for c, _, _ in rs)
        all_codes.update(codes)
        lat_all += [dt for _, dt, _ in rs]
        lat_ok += [dt for c, dt, _ in rs if c == 200]
        print(
            f"{p.kind:34s} {len(rs):4d}  "
            + ", ".join(f"{c}: {n}" for c, n in sorted(codes.items()))
            + (f"  ({busy[p.kind]} x 503)" if busy[p.kind] else "")
        )
        for c, _, retry in rs:
            if c == 503 and not retry:
                bad.append(f"{p.kind}: 503 without Retry-After")
            elif c != 503 and c not in p.expect:
                bad.append(f"{p.kind}: {c} (expected {'/'.join(map(str, p.expect))})")
    print(
        "final status codes: "
        + json.dumps({str(k): v for k, v in sorted(all_codes.items())})
        + f"; 503 busy answers retried: {sum(busy.values())}"
    )
    print(
        f"latency (s) of the final attempt, all answers: p50 {pct(lat_all, 50):.3f}  p90 {pct(lat_all, 90):.3f}  "
        f"p99 {pct(lat_all, 99):.3f}  max {max(lat_all, default=float('nan')):.3f}"
    )
    print(
        f"latency (s) of the final attempt, 200 answers: p50 {pct(lat_ok, 50):.3f}  p90 {pct(lat_ok, 90):.3f}  "
        f"p99 {pct(lat_ok, 99):.3f}  max {max(lat_ok, default=float('nan')):.3f}"
    )
    print(
        f"/api/health during the load: {len(health_lat)} probes, p50 {pct(health_lat, 50):.3f} s, "
        f"max {max(health_lat, default=float('nan')):.3f} s, non-200: {dict(health_bad) or 'none'}"
    )
    peak = max(samples, default=0)
    print(
        f"server RSS (with its CNN child process): {first_kb / 1024:.0f} MB after 2 requests, "
        f"{base_kb / 1024:.0f} MB after warm-up (one photo of each analysed kind), peak {peak / 1024:.0f} MB "
        f"sampled every 50 ms; server process alone: VmHWM {((hwm_kb or 0) / 1024):.0f} MB (kernel's peak since start)"
    )
    if time_lines:
        print("attacks on time (one at a time, after the mix):")
        for line in time_lines:
            print("  " + line)
    print(f"largest 4xx answer: {BIGGEST_4XX[0]:,} bytes (target: under {MAX_4XX_BYTES:,})")
    if BIGGEST_4XX[0] >= MAX_4XX_BYTES:
        bad.append(f"a 4xx answer of {BIGGEST_4XX[0]:,} bytes")
    rise = (end_kb - base_kb) / 1024
    print(
        f"server RSS at the end: {end_kb / 1024:.0f} MB, {rise:+.0f} MB from its level after warm-up "
        f"(target: within {TARGET_RSS_MB} MB); server process alone {(end_own_kb - base_own_kb) / 1024:+.0f} MB"
    )
    if rise > TARGET_RSS_MB:
        bad.append(f"RSS {rise:+.0f} MB from its warm level at the end")
    bad += time_failed
    print(f"server survived: {'yes' if alive else 'NO'}")
    crashed = [k for k, v in all_codes.items() if k == -1 or (k >= 500 and k != 503)]
    if not alive or crashed or bad:
        for b in sorted(set(bad))[:20]:
            print("  unexpected:", b)
        print("RESULT: FAIL")
        return 1
    print("RESULT: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
