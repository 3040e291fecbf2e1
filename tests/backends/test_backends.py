"""Every installed backend against eager torch, and users' own ONNX graphs through the tiled engine."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from msimg import backends
from msimg.backends.cache import cache_dir
from msimg.cli.app import main
from msimg.engine.device import load_model
from msimg.engine.runner import run_tiled
from msimg.errors import ModelError, UsageError
from msimg.models.descriptor import CONVERTIBLE
from msimg.models.scattering_unet import ScatteringUNet
from msimg.models.weights import shipped_spec
from tests.conftest import photo, write_png

OTHERS = [b for b in backends.installed() if b != "torch"]
needs_runtime = pytest.mark.skipif(not OTHERS, reason="neither onnxruntime nor openvino is installed")


@pytest.mark.parametrize("backend", OTHERS)
def test_backend_computes_what_torch_computes(weights_home: Path, backend: str) -> None:
    spec = shipped_spec("denoise-gunet")
    eager = load_model(spec, torch.device("cpu"), backend="torch")
    other = load_model(spec, torch.device("cpu"), backend=backend)
    assert (eager.backend, other.backend) == ("torch", backend)
    x = torch.rand(1, 4, 96, 160, generator=torch.Generator().manual_seed(1))
    whole = run_tiled(eager, x, tile=0)
    tiled = run_tiled(other, x, tile=48, overlap=8, batch=2)  # several shapes: windows, a last batch
    assert (whole - tiled).abs().max().item() < 1e-4


@pytest.mark.parametrize("backend", OTHERS)
def test_graph_is_cached_and_a_wrong_one_is_refused(weights_home: Path, backend: str) -> None:
    spec = shipped_spec("denoise-gunet")
    load_model(spec, torch.device("cpu"), backend=backend)
    graphs = sorted(
        p for p in (cache_dir() / "graphs").glob(f"{spec.sha256[:24]}-{backend}-*") if p.is_file()
    )
    assert graphs, "the converted graph is kept"
    stamps = [p.stat().st_mtime_ns for p in graphs]
    load_model(spec, torch.device("cpu"), backend=backend)
    assert [p.stat().st_mtime_ns for p in graphs] == stamps, "loaded again, not converted again"
    # another network's graph under this one's name: the check against the module refuses it
    torch.manual_seed(5)
    stranger = type(load_model(spec, torch.device("cpu")).module)(**spec.config).eval()
    for p in graphs:
        p.unlink()
    backends.prepare(backend, stranger, 4, 16, spec.sha256, "fp32")
    with pytest.raises(ModelError, match="differs from the network"):
        load_model(spec, torch.device("cpu"), backend=backend)
    # auto falls back to the next backend, at worst torch, rather than run a wrong graph
    assert load_model(spec, torch.device("cpu"), backend="auto").backend != backend
    for p in graphs:  # the cache is the session's: leave no wrong graph to the other tests
        p.unlink()


def test_auto_picks_per_model_and_precision_and_says_which(
    weights_home: Path, tmp_path: Path, capsys
) -> None:
    write_png(tmp_path / "in" / "a.png", photo(40, 56))

    def backend(*args: str) -> str:
        out = tmp_path / f"out{len(args)}"
        assert main(["denoise", str(tmp_path / "in"), "-o", str(out), "--json", "-q", *args]) == 0
        return json.loads(capsys.readouterr().out.splitlines()[0])["backend"]

    # the plain U-Net runs faster eager, in fp32 and in bf16
    assert backend() == "torch"
    assert backend("--precision", "bf16") == "torch"
    dehaze = ScatteringUNet.describe()  # its gates and dark-channel head gain from fusion
    assert backends.candidates("auto", dehaze.backends, "cpu") == [b for b in CONVERTIBLE if b in OTHERS]
    # in bf16 too, but ONNX Runtime runs fp32 only
    bf16 = backends.candidates("auto", dehaze.preferred("bf16"), "cpu")
    assert bf16 == [b for b in ("openvino",) if b in OTHERS]
    # the order is the model's: what comes after torch is not tried, and GPUs run torch
    assert backends.candidates("auto", ("torch", *CONVERTIBLE), "cpu") == []
    assert backends.candidates("auto", CONVERTIBLE, "cuda") == []


def test_backend_errors_are_usage_errors(weights_home: Path, tmp_path: Path, capsys) -> None:
    write_png(tmp_path / "a.png", photo(16, 16))
    assert main(["denoise", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--backend", "tensorrt"]) == 2
    assert "unknown backend 'tensorrt'" in capsys.readouterr().err
    for backend in OTHERS:
        with pytest.raises(UsageError, match="CPU only"):
            backends.candidates(backend, ("torch",), "cuda")
    if "onnxruntime" in OTHERS:
        args = ["--backend", "onnxruntime", "--precision", "bf16"]
        assert main(["denoise", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), *args]) == 2
        assert "runs fp32 only" in capsys.readouterr().err


class TinySR(nn.Module):
    """A community-style x2 super-resolution network: convolutions, then pixel shuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 12, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(12, 12, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(12, 12, 3, padding=1),
            nn.PixelShuffle(2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")


class BgrRange(nn.Module):
    """The same network for BGR input in 0-255, as many published graphs take it."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.flip(1) / 255).flip(1) * 255


def _export(module: nn.Module, path: Path, fixed: int = 0, channels: int = 3) -> Path:
    size = fixed or 32
    axes = None if fixed else {"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "h", 3: "w"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.rand(1, channels, size, size),),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes=axes,
        )
    return path


def _sr(args: list[str], capsys) -> tuple[int, dict, str]:
    code = main(["super-resolve", *args, "--json", "-q"])
    out, err = capsys.readouterr()
    lines = [json.loads(x) for x in out.splitlines() if x]
    return code, (lines[0] if lines else {}), err


@needs_runtime
@pytest.mark.parametrize("backend", OTHERS)
def test_users_onnx_model_runs_tiled_as_whole(
    sr_weights_home: Path, tmp_path: Path, backend: str, capsys
) -> None:
    torch.manual_seed(0)
    net = TinySR()
    graph = _export(net, tmp_path / "community-x2.onnx")
    src = write_png(tmp_path / "in.png", photo(150, 110))
    runs = {}
    for name, tile in (("whole", "0"), ("tiled", "48")):
        out = tmp_path / f"{name}.png"
        code, line, err = _sr(
            [
                str(src),
                "-o",
                str(out),
                "--model",
                str(graph),
                "--tile",
                tile,
                "--backend",
                backend,
                "--scale",
                "2",
            ],
            capsys,
        )
        assert code == 0, err
        assert line["backend"] == backend and line["found"]["model_scale"] == 2
        runs[name] = cv2.imread(str(out)).astype(int)
    assert runs["whole"].shape == (300, 220, 3)
    assert np.abs(runs["whole"] - runs["tiled"]).max() <= 1
    # the graph computes what the torch network computes
    x = torch.from_numpy(cv2.imread(str(src))[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        expected = (net(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()[..., ::-1] * 255).round()
    assert np.abs(runs["whole"] - expected).max() <= 1


@needs_runtime
def test_users_graph_of_fixed_size_in_bgr_0_255(sr_weights_home: Path, tmp_path: Path, capsys) -> None:
    torch.manual_seed(0)
    net = TinySR()
    plain = _export(net, tmp_path / "plain.onnx")
    fixed = _export(BgrRange(net), tmp_path / "fixed-bgr.onnx", fixed=64)
    src = write_png(tmp_path / "in.png", photo(90, 70))
    code, _, err = _sr(
        [str(src), "-o", str(tmp_path / "a.png"), "--model", str(plain), "--scale", "2"], capsys
    )
    assert code == 0, err
    code, line, err = _sr(
        [
            str(src),
            "-o",
            str(tmp_path / "b.png"),
            "--model",
            str(fixed),
            "--scale",
            "2",
            "--model-order",
            "bgr",
            "--model-range",
            "255",
        ],
        capsys,
    )
    assert code == 0, err
    assert line["tile"] <= 64
    a, b = (cv2.imread(str(tmp_path / n)).astype(int) for n in ("a.png", "b.png"))
    assert a.shape == b.shape == (180, 140, 3) and np.abs(a - b).max() <= 1
    code, _, err = _sr(
        [str(src), "-o", str(tmp_path / "c.png"), "--model", str(fixed), "--model-scale", "4"], capsys
    )
    assert code == 2 and "makes images 2x larger" in err


@needs_runtime
def test_graphs_msimg_cannot_run_are_named_with_their_shapes(
    weights_home: Path, tmp_path: Path, capsys
) -> None:
    src = write_png(tmp_path / "in.png", photo(32, 32))
    four = _export(nn.Conv2d(4, 3, 3, padding=1), tmp_path / "four.onnx", channels=4)
    code = main(["denoise", str(src), "-o", str(tmp_path / "o"), "--model", str(four)])
    assert code == 2 and "input (?, 4, ?, ?), output (?, 3, ?, ?)" in capsys.readouterr().err
    pooled = _export(nn.Sequential(nn.Conv2d(3, 3, 3), nn.AdaptiveAvgPool2d(1)), tmp_path / "pool.onnx")
    code = main(["denoise", str(src), "-o", str(tmp_path / "o"), "--model", str(pooled)])
    assert code == 2 and "gave (1, 3, 1, 1)" in capsys.readouterr().err
    code = main(["segment", str(src), "-o", str(tmp_path / "o"), "--model", str(pooled)])
    assert code == 2 and "cannot stand in" in capsys.readouterr().err
    code = main(
        ["denoise", str(src), "-o", str(tmp_path / "o"), "--model", str(pooled), "--backend", "torch"]
    )
    assert code == 2 and "cannot run an ONNX graph" in capsys.readouterr().err
