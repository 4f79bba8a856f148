"""`otel-llm replay --report`: one self-contained HTML file, checked as text (no network, no script, no
content unless asked, escaped) and rendered in real headless Chromium (Debian's `chromium`)."""

from __future__ import annotations

import copy
import html
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone

import pytest

from otel_llm.pipelines._replay import main_replay

OPUS = "global.anthropic.claude-opus-4-5-20251101-v1:0"
HOSTILE = "evil<script>alert(1)</script>-model"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium for the headless render (apt-get install chromium)")


def _logs(folder, records, tools) -> None:
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=3)
    lines = []
    for i in range(48):  # four models over twelve hours
        name = ("claude", "titan", "llama", "converse")[i % 4]
        record = copy.deepcopy(records[name])
        record["timestamp"] = (start + timedelta(minutes=15 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        record["requestId"] = f"req-{name}-{i:03d}"
        lines.append(tools.as_line(record))
    hostile = copy.deepcopy(records["claude"])
    hostile["modelId"], hostile["requestId"] = HOSTILE, "req-<b>bold</b>"
    lines.append(tools.as_line(hostile))
    opus = copy.deepcopy(records["converse"])
    opus["modelId"] = OPUS
    opus["output"]["outputBodyJson"]["output"]["message"]["content"] = []
    lines.append(tools.as_line(opus))
    (folder / "logs.json.gz").write_bytes(tools.gz_lines(*lines))


@pytest.fixture()
def report(tmp_path, records, tools):
    logs = tmp_path / "logs"
    logs.mkdir()
    _logs(logs, records, tools)
    path = tmp_path / "report.html"
    assert main_replay([str(logs), "--backend", "lexical", "--report", str(path)]) == 0
    return path


def test_the_report_is_self_contained_and_names_records_by_id_only(report, records, tools):
    text = report.read_text()
    assert "http://" not in text and "https://" not in text and "src=" not in text and "<script" not in text
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    for model in (tools.claude, tools.titan, tools.llama, tools.nova, OPUS):
        assert model in text
    assert "evil&lt;script&gt;" in text and "req-&lt;b&gt;bold&lt;/b&gt;" in text
    assert "req-llama-" in text  # worst records are named by request id ...
    completion = records["llama"]["output"]["outputBodyJson"]["generation"]
    assert completion[:30] not in text  # ... and their content stays out
    assert text.count("<svg") == 5 * 4 + 5  # four histograms and a timeline per scored model
    assert "none scored; not scored: no_completion_text 1" in text


def test_content_appears_only_when_asked(tmp_path, records, tools):
    logs = tmp_path / "logs"
    logs.mkdir()
    _logs(logs, records, tools)
    path = tmp_path / "with-content.html"
    assert main_replay([str(logs), "--backend", "lexical", "--report", str(path), "--report-content"]) == 0
    completion = records["llama"]["output"]["outputBodyJson"]["generation"]
    assert html.escape(completion[:30]) in path.read_text()


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and raw rows (RGB or RGBA, 8 bits, not interlaced) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _c, _f, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride, rows, prev = width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(b"".join(bytes(line[j:j + 3]) for j in range(0, stride, bpp)))
        prev = line
    return width, height, rows


@needs_chromium
def test_the_report_renders_in_headless_chromium(report, tmp_path, tools):
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1100,1400"]
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert dom.count("<section") == 6 and dom.count("<polyline") >= 4 * 5 and tools.claude in dom
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120,
                   check=True)
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1100, 1400)
    colours = {row[i:i + 3] for row in rows[::7] for i in range(0, len(row), 21)}
    assert len(colours) > 50  # text, bars and lines, not a blank or an error page
    blue = bytes.fromhex("2563eb")  # the similarity bars
    assert sum(row.count(blue) for row in rows) > 500
    print(f"screenshot for a person to judge: {shot}")
