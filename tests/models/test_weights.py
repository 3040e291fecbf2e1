from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
import torch

from msimg.engine.device import load_model
from msimg.errors import UsageError, WeightsError
from msimg.models.descriptor import Traits
from msimg.models.gated_unet import GatedUNet
from msimg.models.load import resolve_spec
from msimg.models.registry import ARCHITECTURES, architecture, register
from msimg.models.weights import ModelSpec, load_manifest
from tests.conftest import TINY_CONFIG

CPU = torch.device("cpu")


def test_shipped_model_loads_and_is_verified(weights_home: Path) -> None:
    model = load_model(resolve_spec("denoise", None, "denoise-gunet"), CPU)
    assert model.descriptor.in_channels == 4 and model.descriptor.size.multiple_of == 2
    target = weights_home / "denoise-gunet.safetensors"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_model(resolve_spec("denoise", None, "denoise-gunet"), CPU)


def test_unknown_names_and_missing_defaults_are_clear(weights_home: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown model 'nope'"):
        resolve_spec("denoise", "nope", "denoise-gunet")
    with pytest.raises(UsageError, match="no such weights file"):
        resolve_spec("denoise", str(tmp_path / "missing.safetensors"), "denoise-gunet")
    with pytest.raises(WeightsError, match="msimg train deblur"):
        resolve_spec("deblur", None, "deblur-gunet")


def test_a_named_model_must_be_what_the_options_chose(tmp_path: Path) -> None:
    """The shipped manifest: a named model that contradicts the options is refused, never run instead."""
    with pytest.raises(UsageError, match="dehaze-gunet does not fit these options, which run dehaze-dcp"):
        resolve_spec("dehaze", "dehaze-gunet", "dehaze-dcp")  # --method dcp --model dehaze-gunet
    with pytest.raises(UsageError, match="sr-x3 does not fit these options, which run sr-x4"):
        resolve_spec("super-resolve", "sr-x3", "sr-x4")  # --scale 4 --model sr-x3
    with pytest.raises(UsageError, match="is a dehaze model, not denoise"):
        resolve_spec("denoise", "dehaze-gunet", "denoise-gunet")
    mine = tmp_path / "mine.pth"
    mine.write_bytes(b"\x80")
    with pytest.raises(UsageError, match="dehaze-dcp, which has no weights"):
        resolve_spec("dehaze", str(mine), "dehaze-dcp")
    assert resolve_spec("dehaze", "dehaze-gunet", "dehaze-gunet").architecture == "scattering-unet"
    assert resolve_spec("super-resolve", "sr-x3", "sr-x3").scale == 3
    # a model composed of shipped ones (`pattern-switch`) takes either part by name, nothing else
    net = load_manifest().get("demosaic-net")
    if net is not None:
        for part in net["config"].values():
            assert resolve_spec("demosaic", part, "demosaic-net").name == part
        with pytest.raises(UsageError, match="does not fit these options, which run demosaic-net"):
            resolve_spec("demosaic", "demosaic-classic", "demosaic-net")


def test_a_composed_model_is_named_by_its_parts_weights(weights_home: Path) -> None:
    """The records redo an output of a model composed of shipped ones (`pattern-switch`) when one of its
    parts is retrained; no runtime converts it, as it picks its part per window."""
    from msimg import backends
    from msimg.errors import DeviceError
    from msimg.models.weights import fingerprint, shipped_spec
    from tests.conftest import ship_tiny

    swin = {"dim": 12, "depths": [1, 2, 1], "heads": 2, "window": 4}
    for name in ("part-a", "part-b"):
        ship_tiny(weights_home, name, "demosaic", swin, arch="swin-demosaic")
    parts = {"bayer": "part-a", "general": "part-b"}
    switch = ModelSpec("switch", "demosaic", "pattern-switch", parts, None)
    before = fingerprint(switch)
    assert before is not None and len(before) == 64
    swapped = ModelSpec(
        "switch", "demosaic", "pattern-switch", {"bayer": "part-b", "general": "part-a"}, None
    )
    assert fingerprint(swapped) != before
    ship_tiny(weights_home, "part-b", "demosaic", {**swin, "dim": 16}, arch="swin-demosaic")  # retrained
    assert fingerprint(switch) not in (before, None)
    assert fingerprint(shipped_spec("denoise-gunet")) == shipped_spec("denoise-gunet").sha256
    assert fingerprint(ModelSpec("dcp", "dehaze", "dark-channel-prior", {}, None)) is None
    for name in set(backends.installed()) - {"torch"}:
        with pytest.raises(DeviceError, match="switch has none"):
            load_model(switch, CPU, backend=name)


def test_pth_state_dict_loads_as_weights_only(weights_home: Path, tmp_path: Path) -> None:
    module = GatedUNet(**TINY_CONFIG)
    path = tmp_path / "mine.pth"
    torch.save({"params": module.state_dict()}, path)
    model = load_model(resolve_spec("denoise", str(path), "denoise-gunet"), CPU)
    x = torch.rand(1, 4, 8, 8)
    assert torch.allclose(model.module(x), module.eval()(x), atol=1e-5)  # memory layouts round apart


def test_weights_are_known_by_content_and_their_task_checked(weights_home: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "mine.pth"  # a safetensors file under a torch suffix still loads as what it is
    renamed.write_bytes((weights_home / "denoise-gunet.safetensors").read_bytes())
    assert load_model(resolve_spec("denoise", str(renamed), "denoise-gunet"), CPU).descriptor.in_channels == 4
    with pytest.raises(UsageError, match="is a denoise model, not dehaze"):
        resolve_spec("dehaze", str(renamed), "dehaze-gunet")


class Payload:
    def __reduce__(self):
        return (print, ("pickle code ran",))


def test_pickled_code_is_refused(weights_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"state_dict": Payload()}, protocol=2))
    with pytest.raises(WeightsError, match="cannot load as plain weights"):
        load_model(resolve_spec("denoise", str(path), "denoise-gunet"), CPU)
    path.write_text("not weights at all\n")
    with pytest.raises(WeightsError, match="not a weights file"):
        load_model(resolve_spec("denoise", str(path), "denoise-gunet"), CPU)


def test_weights_that_do_not_fit_are_refused(weights_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save(GatedUNet(**{**TINY_CONFIG, "width": 8}).state_dict(), path)
    with pytest.raises(WeightsError, match="do not fit"):
        load_model(resolve_spec("denoise", str(path), "denoise-gunet"), CPU)


def test_a_config_the_architecture_refuses_is_a_weights_error() -> None:
    spec = ModelSpec("mine", "demosaic", "classic-demosaic", {"interpolation": "ahd"}, None)
    with pytest.raises(WeightsError, match=r"config does not fit.*unknown demosaic interpolation 'ahd'"):
        load_model(spec, CPU)


def test_registry_is_explicit() -> None:
    assert architecture("gated-unet") is GatedUNet
    with pytest.raises(WeightsError, match="unknown architecture"):
        architecture("nope")
    with pytest.raises(ValueError, match="already registered"):
        register("gated-unet", "x:y")
    assert "gated-unet" in ARCHITECTURES


def _graph(folder: Path) -> dict[str, str]:
    """The config of a user's ONNX graph (`models.onnx_graph`): a 3x3 convolution, exported."""
    from msimg import backends

    if backends.installed() == ["torch"]:
        pytest.skip("no runtime for ONNX graphs is installed")
    path = folder / "graph.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        axes = {"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}}
        conv = torch.nn.Conv2d(3, 3, 3, padding=1)
        torch.onnx.export(
            conv,
            (torch.rand(1, 3, 16, 16),),
            str(path),
            dynamo=False,
            dynamic_axes=axes,
            input_names=["x"],
            output_names=["y"],
        )
    return {"graph": str(path)}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_architecture_describes_itself_with_typed_traits(name: str, tmp_path: Path) -> None:
    """Each architecture owns its context: what a tile needs never exceeds its receptive radius, and its
    size multiple keeps a mosaic's pattern period in phase."""
    shipped = [e["config"] for e in load_manifest().values() if e["architecture"] == name]
    config = _graph(tmp_path) if name == "onnx" else shipped[0] if shipped else {}
    traits = architecture(name).describe(**config)
    assert isinstance(traits, Traits)
    assert 0 <= traits.context <= traits.receptive_radius
    assert traits.multiple_of % traits.period == 0 and traits.in_channels > 0 and traits.out_channels > 0
    assert set(traits.dtypes) <= {"fp32", "bf16", "fp16"} and traits.tiling in ("supported", "whole-image")
