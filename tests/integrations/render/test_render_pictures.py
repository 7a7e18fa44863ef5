"""Pictures of flows and runs: the trace page and the flow SVG, checked as text and in headless Chromium.

The Chromium tests take a screenshot and check it shows content: many
distinct colours, and the trace page's rows in dark ink over much of the
page's left half (not a uniform or blank image). ``scripts/ensure_chromium.sh``
installs Debian's ``chromium`` when missing (as root); without it those
tests skip, saying so.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from composable_agents import alt, arr, deploy, each, par, pure, tool
from composable_agents.compiler.deploy import DevModeWarning
from composable_agents.integrations.render import (
    DagError,
    FlowRenderError,
    render_dag_svg,
    render_flow_svg,
    render_trace_html,
)
from composable_agents.integrations.store import TraceStore

SECRET = "sk-ant-api03-Xy7Qw9Er2Ty4Ui6Op8As0Df1Gh3Jk5Lz"


@tool(effect="read", idempotent=True)
def rp_fetch(q: str) -> dict[str, Any]:
    return {"q": q, "words": q.split(), "key": SECRET}


@pure("rp.count")
def rp_count(doc: dict[str, Any]) -> int:
    return len(doc["words"])


@pure("rp.big")
def rp_big(n: int) -> bool:
    return n > 2


@pure("rp.label")
def rp_label(n: int) -> str:
    return f"n={n}"


with pytest.warns(DevModeWarning):
    FLOW = deploy(
        (rp_fetch >> arr("rp.count") >> alt("rp.big", arr("rp.label"), arr("std.init", key="small"))).named("rp.flow"),
        tools=[rp_fetch],
        mode="dev",
    )


def _result() -> Any:
    result = FLOW.dry_run("one two three four", run_id="rp-run")
    assert result.ok, result.detail
    return result


# -- text checks ----------------------------------------------------------------------


def test_trace_page_is_self_contained_and_redacted() -> None:
    page = render_trace_html(_result())
    assert page.startswith("<!DOCTYPE html>")
    assert "rp-run" in page and "prim: rp_fetch" in page and "arr: rp.count" in page
    assert not re.search(r"""(src|href)=["']https?://""", page), "no network resources"
    assert "<link" not in page and "@import" not in page
    assert SECRET not in page
    assert page.count('class="row') >= len(_result().projection.events)
    assert "Activation tree" in page and 'id="d-input"' in page
    assert "flow: rp.flow" in render_trace_html(_result(), flow="rp.flow")


def test_trace_page_from_the_store_matches(tmp_path: Path) -> None:
    with TraceStore.open(f"sqlite:///{tmp_path}/t.db") as store:
        store.put_run(_result(), flow="rp.flow")
        stored = store.get_run("rp-run")
    assert stored is not None
    page = render_trace_html(stored)
    assert "flow: rp.flow" in page and "prim: rp_fetch" in page


def test_flow_svg_draws_every_step() -> None:
    svg = render_flow_svg(FLOW)
    root = ElementTree.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for label in ("rp_fetch", "rp.count", "if rp.big", "rp.label", "input", "output", "rp.flow"):
        assert label in texts, (label, texts)
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) >= 6
    with pytest.warns(DevModeWarning):
        fan = deploy(par(arr("rp.count"), arr("rp.count")) >> each(arr("rp.label")), mode="dev")
    fan_svg = render_flow_svg(fan.source)
    assert "par (all)" in fan_svg and "each" in fan_svg and "collect" in fan_svg


def test_dag_svg_lays_out_layers_and_rejects_bad_graphs() -> None:
    svg = render_dag_svg(["a", ("b", "B", "tool"), {"id": "c", "label": "C", "kind": "reasoner"}], [("a", "b"), ("a", "c"), ("b", "c"), ("c", "a")])
    root = ElementTree.fromstring(svg)
    boxes = {g.get("data-id"): g.find("{http://www.w3.org/2000/svg}rect") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    ys = {k: float(v.get("y")) for k, v in boxes.items()}  # type: ignore[union-attr,arg-type]
    assert ys["a"] < ys["b"] < ys["c"]  # layered by longest path; the back edge c -> a is drawn dashed
    assert 'stroke-dasharray' in svg
    with pytest.raises(DagError, match="unknown node 'z'"):
        render_dag_svg(["a"], [("a", "z")])
    with pytest.raises(DagError, match="duplicate"):
        render_dag_svg(["a", "a"], [])
    with pytest.raises(FlowRenderError):
        render_flow_svg(42)


# -- in headless Chromium -------------------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (scripts/ensure_chromium.sh installs it as root)")


def _screenshot(target: Path, out: Path, size: str = "1200,900") -> None:
    proc = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={out}", f"--window-size={size}", target.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )
    assert out.exists(), f"chromium wrote no screenshot: {proc.stderr[-500:]}"


def _pixels(png: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB(A) rows of an 8-bit PNG (what Chromium writes), unfiltered."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8
            channels = {2: 3, 6: 4}[color]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = prev[i]
            corner = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + left) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + up) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif ftype == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i : i + 3] for i in range(0, len(r), channels)) if False else r for r in rows]


def _stats(png: Path) -> tuple[int, float]:
    """Distinct colours (sampled) and the share of sampled pixels that are dark ink."""
    width, _height, rows = _pixels(png)
    channels = len(rows[0]) // width
    colours: set[bytes] = set()
    dark = total = 0
    for row in rows[::4]:
        for x in range(0, width, 4):
            px = row[x * channels : x * channels + 3]
            colours.add(px)
            total += 1
            if sum(px) < 200:
                dark += 1
    return len(colours), dark / total


def test_trace_page_renders_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "trace.html"
    page.write_text(render_trace_html(_result()), encoding="utf-8")
    shot = tmp_path / "trace.png"
    _screenshot(page, shot)
    colours, dark = _stats(shot)
    assert colours > 20, "the page looks uniform"
    assert dark > 0.02, "the header and rows should put dark ink on the page"


def test_flow_svg_renders_in_chromium(tmp_path: Path) -> None:
    image = tmp_path / "flow.svg"
    image.write_text(render_flow_svg(FLOW), encoding="utf-8")
    shot = tmp_path / "flow.png"
    _screenshot(image, shot, "700,700")
    colours, dark = _stats(shot)
    assert colours > 5, "the SVG looks blank"
    assert dark > 0.001, "boxes, arrows and labels should be drawn"
