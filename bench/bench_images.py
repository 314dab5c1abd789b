"""Benchmark: a 24-megapixel camera JPEG through normalise_image versus sending the raw upload.

Run from the repository root: ``python -m bench.bench_images``. The upload carries a phone's EXIF
(maker, owner, GPS position). Both paths end with a data URL and a token estimate; the naive path
base64-encodes the upload as it is (and reads only its header for the token count). Targets: our
path at most 400 ms (median), a payload at least 10x smaller, the same token count, and no
metadata in what is sent. Exits with status 1 if a target is missed.
"""

from __future__ import annotations

import base64
import io
import statistics
import sys
import time
from collections.abc import Callable

from PIL import Image

from playground.vision.metadata import scan_metadata
from playground.vision.normalise import normalise_image
from playground.vision.tokens import image_tokens
from tests.fakes.images import camera_exif, encode, photo_like

SIZE = (6000, 4000)
REPEATS = 5
TARGET_MS = 400.0
TARGET_RATIO = 10.0


def ours(upload: bytes) -> tuple[str, int]:
    prepared = normalise_image(upload, filename="camera.jpg")
    return prepared.data_url(), prepared.tokens("auto")


def naive(upload: bytes) -> tuple[str, int]:
    with Image.open(io.BytesIO(upload)) as im:
        width, height = im.size
    url = f"data:image/jpeg;base64,{base64.b64encode(upload).decode('ascii')}"
    return url, image_tokens(width, height, "auto")


def median_ms(path: Callable[[bytes], tuple[str, int]], upload: bytes) -> tuple[float, tuple[str, int]]:
    result = path(upload)  # warm-up (plugin imports, registry load)
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = path(upload)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), result


def main() -> int:
    upload = encode(photo_like(*SIZE), "JPEG", quality=90, exif=camera_exif())
    print(f"upload: {SIZE[0]}x{SIZE[1]} JPEG, {len(upload):,} bytes ({SIZE[0] * SIZE[1] / 1e6:.0f} MP)")

    our_ms, (our_url, our_tokens) = median_ms(ours, upload)
    naive_ms, (naive_url, naive_tokens) = median_ms(naive, upload)
    prepared = normalise_image(upload, filename="camera.jpg")
    our_payload, naive_payload = len(our_url), len(naive_url)
    ratio = naive_payload / our_payload

    print(f"median of {REPEATS} runs")
    print(
        f"ours : {our_ms:8.1f} ms  sent {prepared.width}x{prepared.height} {prepared.format}, "
        f"{prepared.sent_bytes:,} bytes, data URL {our_payload:,} chars, tokens {our_tokens}"
    )
    print(
        f"naive: {naive_ms:8.1f} ms  sent {SIZE[0]}x{SIZE[1]} JPEG, {len(upload):,} bytes, "
        f"data URL {naive_payload:,} chars, tokens {naive_tokens}"
    )
    print(f"payload ratio (naive / ours): {ratio:.1f}x")
    for note in prepared.notes:
        print(f"note: {note}")

    checks = [
        (f"our path <= {TARGET_MS:.0f} ms (got {our_ms:.1f} ms)", our_ms <= TARGET_MS),
        (f"payload >= {TARGET_RATIO:.0f}x smaller (got {ratio:.1f}x)", ratio >= TARGET_RATIO),
        (f"token count unchanged ({our_tokens} == {naive_tokens})", our_tokens == naive_tokens),
        (
            f"no metadata sent (upload had: {scan_metadata(upload, 'JPEG').summary()})",
            not scan_metadata(prepared.data, prepared.format).found,
        ),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
