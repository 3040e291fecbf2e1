"""`msimg report`: one self-contained HTML page to judge a run by eye, each output beside its input (a
before/after slider and a 100 % crop of the most changed region) over a sortable table of the run's figures.

Everything is embedded (images as data URIs, inline CSS and JS), so the page can be mailed or archived."""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from msimg.errors import ImageReadError, UsageError
from msimg.io.records import RECORDS, models_of, read_records

if TYPE_CHECKING:
    import numpy as np

    from msimg.io.image import Image

PREVIEW_SIDE = 1024  # long side of the slider images: keeps a page of many photos to a few MB
CROP_SIDE = 256
JPEG_QUALITY = 85
_JSON_SUFFIX = ".json"


@dataclass(frozen=True)
class Entry:
    """One output found under OUT, with its record (if the run left one) and its input (if found)."""

    folder: str  # relative to OUT, "." for OUT itself
    output: Path
    record: dict[str, Any] | None
    input: Path | None
    input_note: str  # why there is no input to show, else ""


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _input_index(root: Path) -> dict[tuple[str, ...], list[Path]]:
    """Every tail of every input's relative path without suffix (`a/b/x`, `b/x`, `x`) -> the inputs."""
    from msimg.io.raw import RAW_SUFFIXES
    from msimg.io.read import SUPPORTED_SUFFIXES

    index: dict[tuple[str, ...], list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in SUPPORTED_SUFFIXES | RAW_SUFFIXES and not _hidden(path, root):
            parts = path.relative_to(root).with_suffix("").parts
            for k in range(len(parts)):
                index.setdefault(parts[k:], []).append(path)
    return index


def _match(index: dict[tuple[str, ...], list[Path]], rel: Path, recorded: str | None) -> Path | None:
    """The input under --inputs with the longest relative path in common with the output, by the recorded
    input's stem, else the output's (they differ with --suffix); an ambiguous name matches nothing."""
    stems = ([Path(recorded).stem] if recorded and recorded != "-" else []) + [rel.stem]
    parts = rel.parent.parts
    for k in range(len(parts) + 1):
        for stem in stems:
            found = index.get((*parts[k:], stem), [])
            if len(found) == 1:
                return found[0]
    return None


def _missing(named: str | None, inputs: Path | None) -> str:
    """Why an output has no input to show."""
    if inputs is not None:
        return f"not found under {inputs}"
    if named is None:
        return "no record of its input"
    return "it came from stdin" if named == "-" else f"{named} is gone"


def find_entries(out: Path, inputs: Path | None) -> list[Entry]:
    """The outputs under `out`, in path order: only the folders that hold records when any do (so the
    run's input folders lying next to its output folders are left out), else every image and table."""
    from msimg.io.read import SUPPORTED_SUFFIXES

    files = [
        p
        for p in sorted(out.rglob("*"))
        if p.suffix.lower() in SUPPORTED_SUFFIXES | {_JSON_SUFFIX} and p.is_file() and not _hidden(p, out)
    ]
    recorded = {p.parent: read_records(p.parent) for p in out.rglob(RECORDS) if not _hidden(p.parent, out)}
    if recorded:
        files = [p for p in files if p.parent in recorded]
    index = _input_index(inputs) if inputs is not None else {}
    entries = []
    for path in files:
        record = recorded.get(path.parent, {}).get(path.name)
        named = record.get("input") if record else None
        source = _match(index, path.relative_to(out), named) if inputs is not None else None
        if source is None and named not in (None, "-") and Path(named).is_file():
            source = Path(named)
        note = "" if source is not None else _missing(named, inputs)
        folder = path.parent.relative_to(out).as_posix()
        entries.append(Entry(folder, path, record, source, note))
    return entries


def _is_label_map(record: dict[str, Any] | None) -> bool:
    last = ((record or {}).get("stages") or [record or {}])[-1]  # a chain's result is its last stage's
    options = last.get("options") or {}
    return last.get("task") == "segment" and options.get("kind", options.get("format")) == "labels"


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """A chain's record (`msimg run`) as one row: its stages' models joined, their options prefixed with
    the stage as on the command line (`denoise.sigma`); a single task's record as it is."""
    stages = record.get("stages")
    if not stages:
        return record
    options = {f"{s.get('task')}.{k}": v for s in stages for k, v in (s.get("options") or {}).items()}
    return {**record, "model": models_of(record), "options": options}


def label_colours(labels: np.ndarray) -> np.ndarray:
    """(H, W) integer labels -> (H, W, 3) uint8, a fixed pseudo-random colour per label (a multiplicative
    hash), so that neighbouring regions differ however the labels are numbered."""
    import numpy as np

    h = labels.astype(np.uint32) * np.uint32(2654435761)
    return np.stack([(h >> s) & 255 for s in (8, 16, 24)], axis=-1).astype(np.uint8)


def display_rgb(image: Image, labels: bool = False) -> np.ndarray:
    """What a browser shows: (H, W, 3) uint8, bit depth scaled by the dtype, grey repeated, alpha laid over
    mid-grey, a label map coloured."""
    import numpy as np

    from msimg.io.convert import from_float, to_float

    if labels:
        return label_colours(image.pixels[..., 0])
    colour, alpha = to_float(image.pixels)
    if alpha is not None:
        colour = colour * alpha[..., None] + np.float32(0.5) * (1 - alpha[..., None])
    rgb = from_float(colour, None, np.dtype(np.uint8))
    return np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb


def fit(rgb: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """Downscaled (area average) so the long side is at most `side`; never upscaled."""
    import cv2

    h, w = rgb.shape[:2]
    if max(h, w) <= side:
        return rgb
    f = side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def data_uri(rgb: np.ndarray, fmt: str) -> str:
    """`fmt` "jpeg" for previews (small), "png" for the 100 % crops (no artefacts of our own)."""
    import io

    from PIL import Image as PILImage

    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if fmt == "jpeg" else {}
    PILImage.fromarray(rgb).save(buffer, fmt.upper(), **options)
    return f"data:image/{fmt};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def most_changed(before: np.ndarray, after: np.ndarray, side: int = CROP_SIDE) -> tuple[int, int]:
    """Top-left (y, x) of the `side` square where `after` differs most from `before` (same shape), found
    on a copy shrunk to about 2048 px by summed-area tables."""
    import cv2
    import numpy as np

    diff = np.abs(after.astype(np.float32) - before.astype(np.float32)).mean(axis=2)
    f = max(1, math.ceil(max(diff.shape) / 2048))
    if f > 1:
        diff = cv2.resize(diff, (diff.shape[1] // f, diff.shape[0] // f), interpolation=cv2.INTER_AREA)
    k = max(1, min(side // f, *diff.shape))
    s = cv2.integral(diff, sdepth=cv2.CV_64F)
    window = s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]
    y, x = np.unravel_index(int(np.argmax(window)), window.shape)
    h, w = after.shape[:2]
    return min(int(y) * f, max(0, h - side)), min(int(x) * f, max(0, w - side))


def _scaled_to(before: np.ndarray, after: np.ndarray) -> np.ndarray | None:
    """`before` at `after`'s size (nearest, so upscaled input pixels show as they are) when both have the
    same aspect ratio, as a super-resolved output has; else None."""
    import cv2

    (h, w), (big_h, big_w) = before.shape[:2], after.shape[:2]
    if (h, w) == (big_h, big_w):
        return before
    if abs(h * big_w / w - big_h) > max(1.0, big_h / h):
        return None
    return cv2.resize(before, (big_w, big_h), interpolation=cv2.INTER_NEAREST)


@dataclass(frozen=True)
class Card:
    """What the page shows of one entry: embedded pictures, a table summary, or the reason it can't."""

    entry: Entry
    after: str = ""  # data URIs
    before: str = ""
    crop_after: str = ""
    crop_before: str = ""
    crop_at: tuple[int, int] | None = None
    size: tuple[int, int] = (0, 0)  # output preview (width, height), the slider's display size
    psnr: float | None = None
    text: str = ""  # a JSON output's summary
    notes: tuple[str, ...] = ()
    failure: str = ""  # the output itself could not be shown


def _table_summary(path: Path) -> str:
    document = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(document, dict) and isinstance(document.get("regions"), list):
        size = f" over {document['width']}x{document['height']}" if "width" in document else ""
        return f"{len(document['regions'])} regions{size}"
    keys = ", ".join(map(str, document)) if isinstance(document, dict) else type(document).__name__
    return f"JSON: {keys}"


def _input_pixels(entry: Entry) -> tuple[Image | None, str]:
    from msimg.io.read import SUPPORTED_SUFFIXES, read_image

    if entry.input is None:
        return None, f"input: {entry.input_note}"
    if entry.input.suffix.lower() not in SUPPORTED_SUFFIXES:
        return None, f"input {entry.input.name} is a raw frame, not previewed"
    try:
        return read_image(entry.input), ""
    except ImageReadError as err:
        return None, f"input {entry.input}: {err}"


def make_card(entry: Entry) -> Card:
    """Decode, convert and embed one entry. An unreadable output becomes the card's `failure`."""
    from msimg.io.read import read_image
    from msimg.ops.metrics import psnr

    source, note = _input_pixels(entry)
    notes = (note,) if note else ()
    before = display_rgb(source) if source is not None else None
    if entry.output.suffix.lower() == _JSON_SUFFIX:
        try:
            text = _table_summary(entry.output)
        except (OSError, ValueError) as err:
            return Card(entry, notes=notes, failure=f"not a readable JSON table ({err})")
        shown = fit(before) if before is not None else None
        size = (shown.shape[1], shown.shape[0]) if shown is not None else (0, 0)
        return Card(entry, before=data_uri(shown, "jpeg") if shown is not None else "", size=size, text=text)
    try:
        result = read_image(entry.output)
    except ImageReadError as err:
        return Card(entry, notes=notes, failure=str(err))
    labels = _is_label_map(entry.record)
    after = display_rgb(result, labels)
    shown = fit(after)
    card = {"after": data_uri(shown, "jpeg"), "size": (shown.shape[1], shown.shape[0])}
    if before is not None:
        card["before"] = data_uri(fit(before), "jpeg")
    aligned = _scaled_to(before, after) if before is not None else None
    if aligned is not None and not labels:
        y, x = most_changed(aligned, after)
    else:
        y, x = max(0, (after.shape[0] - CROP_SIDE) // 2), max(0, (after.shape[1] - CROP_SIDE) // 2)
    card["crop_at"] = (x, y)
    card["crop_after"] = data_uri(after[y : y + CROP_SIDE, x : x + CROP_SIDE], "png")
    if aligned is not None:
        card["crop_before"] = data_uri(aligned[y : y + CROP_SIDE, x : x + CROP_SIDE], "png")
    restored = (entry.record or {}).get("task") != "segment"  # a segmentation's PSNR means nothing
    if source is not None and restored and source.pixels.shape == result.pixels.shape:
        card["psnr"] = psnr(result.pixels, source.pixels)
    return Card(entry, notes=notes, **card)


# --- the page -------------------------------------------------------------------------------------------

_COLUMNS = (  # (heading, numeric, tooltip)
    ("Folder", False, ""),
    ("File", False, ""),
    ("Task", False, ""),
    ("Model", False, ""),
    ("Seconds", True, "the run's time for the file"),
    ("MP", True, "megapixels processed"),
    ("MP/s", True, "megapixels per second"),
    ("Found", False, "what the task estimated from the image"),
    ("Options", False, ""),
    ("PSNR vs input", True, "dB, how far the output moved from its input (not a quality score)"),
)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _pairs(values: Any) -> str:
    """`{"sigma": 0.0512, "mode": "x", "tile": None}` -> `sigma=0.0512, mode=x`: floats to 3 significant
    digits, unset values left out."""
    if not isinstance(values, dict):
        return "" if values is None else json.dumps(values)
    shown = []
    for key, value in values.items():
        if value is not None:
            text = f"{value:.3g}" if isinstance(value, float) else json.dumps(value).strip('"')
            shown.append(f"{key}={text}")
    return ", ".join(shown)


def row_cells(card: Card, anchor: str) -> list[tuple[str, str | float | None]]:
    """The table row of one card: (cell HTML, sort value) per column, in `_COLUMNS` order."""
    record = _flat(card.entry.record or {})
    seconds, mp = _number(record.get("seconds")), _number(record.get("megapixels"))
    rate = mp / seconds if mp is not None and seconds else None
    name = card.entry.output.name
    cells: list[tuple[str, str | float | None]] = [
        (html.escape(card.entry.folder), card.entry.folder),
        (f'<a href="#{anchor}">{html.escape(name)}</a>', name),
    ]
    for key in ("task", "model"):
        text = str(record.get(key) or "")
        cells.append((html.escape(text), text))
    for value, digits in ((seconds, 2), (mp, 2), (rate, 2)):
        cells.append(("" if value is None else f"{value:.{digits}f}", value))
    for key in ("found", "options"):
        text = _pairs(record.get(key))
        cells.append((html.escape(text), text))
    db = card.psnr
    cells.append(("" if db is None else "∞" if math.isinf(db) else f"{db:.2f}", db))
    return cells


def _sort_attr(value: str | float | None) -> str:
    if value is None:
        return ""
    return "Infinity" if isinstance(value, float) and math.isinf(value) else html.escape(str(value), True)


def _table(cards: list[Card]) -> str:
    head = "".join(
        f'<th data-type="{"number" if numeric else "text"}"'
        + (f' title="{html.escape(tip, True)}"' if tip else "")
        + f">{html.escape(title)}</th>"
        for title, numeric, tip in _COLUMNS
    )
    rows = []
    for i, card in enumerate(cards):
        cells = "".join(
            f'<td data-sort="{_sort_attr(value)}">{shown}</td>' for shown, value in row_cells(card, f"f{i}")
        )
        rows.append(f"<tr{' class=failed' if card.failure else ''}>{cells}</tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _figure(card: Card, anchor: str) -> str:
    entry = card.entry
    title = html.escape(entry.output.name)
    parts = [f'<section class="card" id="{anchor}"><h3>{title}</h3>']
    if entry.input is not None:
        parts.append(f'<p class="from">from {html.escape(str(entry.input))}</p>')
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in card.notes]
    if card.failure:
        parts.append(f'<p class="failure">could not show {title}: {html.escape(card.failure)}</p>')
    if card.text:
        parts.append(f'<p class="table">{title}: {html.escape(card.text)}</p>')
    w, h = card.size
    box = f'style="width:{w}px;aspect-ratio:{w}/{h}"'
    if card.after and card.before:
        parts.append(
            f'<div class="compare" {box}><img class="after" alt="output" src="{card.after}">'
            f'<img class="before" alt="input" src="{card.before}"><div class="divider"></div>'
            '<span class="tag left">input</span><span class="tag right">output</span>'
            '<input type="range" min="0" max="100" value="50" step="0.1" aria-label="input | output"></div>'
        )
    elif card.after or card.before:
        label = "output" if card.after else "input"
        parts.append(
            f'<div class="single" {box}><img alt="{label}" src="{card.after or card.before}">'
            f'<span class="tag right">{label}</span></div>'
        )
    if card.crop_after and card.crop_at is not None:
        x, y = card.crop_at
        crops = [(card.crop_before, "input"), (card.crop_after, "output")]
        pictures = "".join(
            f'<figure><img alt="{label} at 100 %" src="{uri}">'
            f"<figcaption>{label}, 100 %</figcaption></figure>"
            for uri, label in crops
            if uri
        )
        where = "most changed region" if card.crop_before else "centre"
        parts.append(f'<div class="crops" title="{where} at x={x}, y={y}">{pictures}</div>')
    parts.append("</section>")
    return "".join(parts)


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin:.2em 0}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;max-width:28em}
th{background:#eee;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td[data-sort]:empty{background:#f4f4f4}tr.failed{background:#fdd}
.cards{display:flex;flex-wrap:wrap;gap:1.5em}.card{max-width:100%}
.from,.note{color:#666;margin:.1em 0;font-size:12px}.failure{color:#b00}
.compare,.single{position:relative;max-width:100%;overflow:hidden;background:#888}
.compare img,.single img{position:absolute;inset:0;width:100%;height:100%;display:block}
.compare .before{clip-path:inset(0 50% 0 0)}
.compare .divider{position:absolute;top:0;bottom:0;left:50%;width:2px;background:#fff;pointer-events:none}
.compare input{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:ew-resize}
.tag{position:absolute;top:4px;padding:0 4px;background:rgba(0,0,0,.55);color:#fff;font-size:11px}
.tag.left{left:4px}.tag.right{right:4px}
.crops{display:flex;gap:6px;margin-top:6px}.crops figure{margin:0}
.crops img{display:block;image-rendering:pixelated}figcaption{font-size:11px;color:#666}
"""

# Runs first: counts script errors (and console.error calls) into <body data-js-errors>, so a headless
# browser's DOM dump tells whether the page ran cleanly.
_WATCH = """
window.reportErrors=[];
addEventListener('error',e=>reportErrors.push(String(e.message)));
addEventListener('unhandledrejection',e=>reportErrors.push(String(e.reason)));
(c=>{console.error=(...a)=>{reportErrors.push(a.join(' '));c.apply(console,a);};})(console.error);
addEventListener('load',()=>{document.body.dataset.jsErrors=String(reportErrors.length);});
"""

_SCRIPT = """
for(const box of document.querySelectorAll('.compare')){
  const range=box.querySelector('input'),before=box.querySelector('.before');
  const line=box.querySelector('.divider');
  range.addEventListener('input',()=>{
    before.style.clipPath='inset(0 '+(100-range.value)+'% 0 0)';line.style.left=range.value+'%';
  });
}
for(const table of document.querySelectorAll('table.sortable')){
  const heads=Array.from(table.tHead.rows[0].cells);
  heads.forEach((th,col)=>th.addEventListener('click',()=>{
    const up=th.getAttribute('aria-sort')!=='ascending',numeric=th.dataset.type==='number';
    heads.forEach(h=>h.removeAttribute('aria-sort'));th.setAttribute('aria-sort',up?'ascending':'descending');
    const key=r=>{const v=r.cells[col].dataset.sort;return numeric?(v===''?NaN:parseFloat(v)):v;};
    const rows=Array.from(table.tBodies[0].rows);
    rows.sort((a,b)=>{
      const x=key(a),y=key(b);
      if(numeric){if(isNaN(x)||isNaN(y))return isNaN(x)-isNaN(y);return up?x-y:y-x;}
      return up?x.localeCompare(y):y.localeCompare(x);
    });
    rows.forEach(r=>table.tBodies[0].appendChild(r));
  }));
}
document.body.dataset.jsReady='1';
"""


def render(cards: list[Card], out: Path) -> str:
    """The whole page: the figures table, then one section per output folder."""
    from msimg import __version__

    sections: dict[str, list[str]] = {}
    for i, card in enumerate(cards):  # `f{i}`: the anchor the table's file links point at
        sections.setdefault(card.entry.folder, []).append(_figure(card, f"f{i}"))
    body = "".join(
        f"<h2>{html.escape(str(out) if folder == '.' else folder)}</h2>"
        f'<div class="cards">{"".join(figures)}</div>'
        for folder, figures in sections.items()
    )
    title = html.escape(f"msimg report: {out}")
    empty = "" if cards else "<p>No outputs found.</p>"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{_STYLE}</style><script>{_WATCH}</script></head><body>"
        f"<h1>{title}</h1><p>{len(cards)} outputs, msimg {html.escape(__version__)}. "
        "Drag across a picture to compare input and output; click a column heading to sort.</p>"
        f"{empty}{_table(cards) if cards else ''}{body}<script>{_SCRIPT}</script></body></html>"
    )


def build(out: Path, inputs: Path | None) -> tuple[str, list[Card]]:
    """(the page, its cards) for the outputs under `out`."""
    cards = [make_card(entry) for entry in find_entries(out, inputs)]
    return render(cards, out), cards


def report(
    out: Annotated[
        Path, typer.Argument(help="The folder a run wrote to (searched recursively).", show_default=False)
    ],
    inputs: Annotated[
        Path | None,
        typer.Option(
            "--inputs",
            help="Find each input here, by relative path or name, instead of where the records say it was.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="The HTML file to write (default: OUT/report.html).", show_default=False
        ),
    ] = None,
) -> int:
    """Write one self-contained HTML page showing every output of a run beside its input.

    Each output gets a before/after slider and a 100 % crop of its most changed region; a table of the
    run's per-file figures (task, model, time, megapixels per second, what the task found, options) sorts
    by any column. Images are embedded, so the page works offline and can be sent as one file. The page's
    path is printed; an output that cannot be read is listed and the exit code is 1.

    Examples:

      msimg report restored/

      msimg report restored/ --inputs photos/ -o review.html
    """
    from msimg.io.atomic import atomic_write_bytes

    if not out.is_dir():
        raise UsageError(f"{out}: no such folder")
    if inputs is not None and not inputs.is_dir():
        raise UsageError(f"--inputs {inputs}: no such folder")
    target = output if output is not None else out / "report.html"
    page, cards = build(out, inputs)
    atomic_write_bytes(target, page.encode("utf-8"))
    typer.echo(str(target))
    failures = [f"{card.entry.output}: {card.failure}" for card in cards if card.failure]
    for line in failures:
        typer.echo(f"msimg: could not show {line}", err=True)
    return 1 if failures else 0
