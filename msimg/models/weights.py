"""Shipped and user weights: the manifest, sha256 verification, safetensors with recorded metadata.

Every msimg weights file carries its architecture and config in the safetensors header ("msimg" key), so
a file is self-describing; shipped files are also listed in `weights/manifest.json` with their sha256,
training recipe and validation metrics, and are verified before use.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from msimg.errors import UsageError, WeightsError
from msimg.models.descriptor import ModelDescriptor, SizeReq


def weights_dir() -> Path:
    """`$MSIMG_WEIGHTS` (a user's own folder with its manifest), else the weights installed inside the
    package (`msimg/weights`, mapped there from the top-level folder when the wheel is built), else the
    source checkout's `weights/` (an editable install or a clone, where training writes)."""
    env = os.environ.get("MSIMG_WEIGHTS")
    if env:
        return Path(env)
    installed = Path(str(resources.files("msimg"))) / "weights"
    if (installed / "manifest.json").is_file():
        return installed
    return Path(__file__).resolve().parents[2] / "weights"


def shipping_dir() -> Path | None:
    """Where training writes shipped weights, and what recipes' relative data paths start from (its
    parent): `$MSIMG_WEIGHTS`, else this source checkout's `weights/`; None for an installed msimg, which
    has no checkout and must never train into site-packages."""
    env = os.environ.get("MSIMG_WEIGHTS")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    return root / "weights" if (root / "pyproject.toml").is_file() and (root / "weights").is_dir() else None


def training_weights_dir() -> Path:
    """`shipping_dir()`, or a usage error where there is none."""
    home = shipping_dir()
    if home is None:
        raise UsageError(
            "training runs from a clone of msimg (make weights), not from an installed copy "
            f"({Path(__file__).resolve().parents[2]}); or set MSIMG_WEIGHTS to a folder of your own"
        )
    return home


def manifest_path() -> Path:
    return weights_dir() / "manifest.json"


def load_manifest(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Model name -> entry (of the manifest in use, or at `path`). A missing manifest means no shipped
    models, not an error."""
    path = path or manifest_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise WeightsError(f"{path}: unreadable manifest ({err})") from err
    return {m["name"]: m for m in data.get("models", [])}


def save_manifest_entry(entry: dict[str, Any]) -> None:
    """Add or replace one model's entry (training's manifest), keeping the file sorted and stable for
    diffs."""
    path = training_weights_dir() / "manifest.json"
    models = load_manifest(path)
    models[entry["name"]] = entry
    text = json.dumps({"models": [models[k] for k in sorted(models)]}, indent=2) + "\n"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build a model: where its tensors are and what architecture they fit."""

    name: str
    task: str
    architecture: str
    config: dict[str, Any]
    path: Path | None  # None: an analytic model with no weights (e.g. the dark channel prior)
    scale: int = 1
    sha256: str | None = None

    def descriptor(self) -> ModelDescriptor:
        from msimg.models.registry import architecture

        try:
            traits = architecture(self.architecture).describe(**self.config)
        except (TypeError, ValueError) as err:  # an unknown key, or a value the architecture refuses
            where = self.path or f"model '{self.name}'"
            fit = f"config does not fit architecture '{self.architecture}'"
            raise WeightsError(f"{where}: {fit} ({err})") from err
        return ModelDescriptor(
            name=self.name,
            task=self.task,
            architecture=self.architecture,
            scale=traits.scale,
            in_channels=traits.in_channels,
            out_channels=traits.out_channels,
            size=SizeReq(multiple_of=traits.multiple_of, maximum=traits.maximum),
            context=traits.context,
            tiling=traits.tiling,
            dtypes=traits.dtypes,
            memory_per_pixel=traits.memory_per_pixel,
            period=traits.period,
            backends=traits.backends,
            bf16_backends=traits.preferred("bf16"),
            cpu_tile=traits.cpu_tile,
        )


def shipped_spec(name: str) -> ModelSpec:
    entry = load_manifest().get(name)
    if entry is None:
        known = ", ".join(sorted(load_manifest())) or "none"
        raise UsageError(f"no shipped model named '{name}' (shipped: {known})")
    return ModelSpec(
        name=name,
        task=entry["task"],
        architecture=entry["architecture"],
        config=entry["config"],
        path=None if entry["file"] is None else weights_dir() / entry["file"],
        scale=entry.get("scale", 1),
        sha256=entry["sha256"],
    )


def fingerprint(spec: ModelSpec) -> str | None:
    """The sha256 that names a model's weights in the records: its file's, or for a model composed of
    shipped ones (`parts`) a digest of theirs, so outputs are redone when a part is retrained. None: a
    model without weights."""
    if spec.sha256 is not None:
        return spec.sha256
    if spec.path is not None:
        return sha256_of(spec.path)
    names = parts(spec.architecture, spec.config)
    if not names:
        return None
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name} {fingerprint(shipped_spec(name))}\n".encode())
    return digest.hexdigest()


def parts(architecture_name: str, config: dict[str, Any]) -> tuple[str, ...]:
    """The shipped models an architecture composed of them runs (`pattern-switch`); () for any other."""
    from msimg.models.registry import architecture

    of = getattr(architecture(architecture_name), "parts", None)
    return tuple(of(**config)) if of is not None else ()


def _weights_format(path: Path) -> str | None:
    """ "safetensors" or "torch" by content, not suffix (a renamed file still loads as what it is); None
    for anything else. safetensors: an 8-byte little-endian header length, then the JSON header's '{';
    torch.save: a zip archive, or a bare pickle in the legacy format."""
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) == 9 and head[8:] == b"{" and int.from_bytes(head[:8], "little") < path.stat().st_size:
        return "safetensors"
    return "torch" if head.startswith(b"PK") or head[:1] == b"\x80" else None


def _header_metadata(path: Path) -> dict[str, Any] | None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as err:  # safetensors raises several types for a damaged header
        raise WeightsError(f"{path}: not a readable safetensors file ({err})") from err
    return json.loads(meta["msimg"]) if "msimg" in meta else None


def user_spec(
    path: Path, task: str, fallback: ModelSpec | None, graph_io: dict[str, Any] | None = None
) -> ModelSpec:
    """A weights file the user names. Its own metadata wins; else it must fit the task's default model."""
    if not path.is_file():  # a usage error like an unknown model name: nothing has run
        raise UsageError(f"--model {path}: no such weights file")
    if path.suffix.lower() == ".onnx":  # a graph, run by a runtime: `models.onnx_graph`
        feeds = fallback.descriptor().in_channels if fallback is not None else 3
        config = {"graph": str(path.resolve()), "feeds": feeds, **(graph_io or {})}
        return ModelSpec(path.stem, task, "onnx", config, None, sha256=sha256_of(path))
    meta = _header_metadata(path) if _weights_format(path) == "safetensors" else None
    if meta is not None:  # the caller checks that its task, architecture and scale fit the options
        kind, scale = meta.get("task", task), meta.get("scale", 1)
        return ModelSpec(path.stem, kind, meta["architecture"], meta["config"], path, scale)
    if fallback is None:
        raise WeightsError(f"{path}: no msimg metadata and no default '{task}' architecture to load it into")
    return ModelSpec(path.stem, task, fallback.architecture, fallback.config, path, fallback.scale)


def load_state_dict(spec: ModelSpec) -> dict[str, Any]:
    """Tensors of `spec`, verified against its sha256 when it has one. Pickles load as weights only."""
    import torch
    from safetensors.torch import load_file

    if spec.sha256 is not None:
        if not spec.path.is_file():
            raise WeightsError(f"{spec.path}: shipped weights file is missing (run `make weights`)")
        actual = sha256_of(spec.path)
        if actual != spec.sha256:
            raise WeightsError(
                f"{spec.path}: sha256 {actual[:12]}... does not match the manifest ({spec.sha256[:12]}...); "
                "the file is damaged or was replaced"
            )
    kind = _weights_format(spec.path)
    if spec.path.suffix == ".safetensors" or kind == "safetensors":
        try:
            return load_file(str(spec.path))
        except Exception as err:
            raise WeightsError(f"{spec.path}: not a readable safetensors file ({err})") from err
    if kind is None:
        raise WeightsError(f"{spec.path}: not a weights file (neither safetensors nor a torch.save archive)")
    try:
        state = torch.load(spec.path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle refusals and format errors come as many types
        raise WeightsError(
            f"{spec.path}: cannot load as plain weights ({type(err).__name__}: {err})"
        ) from err
    for key in ("params_ema", "params", "state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise WeightsError(f"{spec.path}: does not hold a state dict")
    return state


def build_module(spec: ModelSpec) -> Any:
    """An `nn.Module` of `spec`'s architecture holding its weights (strict: every tensor must fit)."""
    from msimg.models.registry import architecture

    module = architecture(spec.architecture)(**spec.config)
    if spec.path is None:
        # a model composed of shipped ones (`parts`) loaded them from their verified files
        if next(module.parameters(), None) is not None and not parts(spec.architecture, spec.config):
            raise WeightsError(f"model '{spec.name}' has parameters but no weights file")
        return module
    try:
        module.load_state_dict(load_state_dict(spec), strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise WeightsError(
            f"{spec.path}: weights do not fit architecture '{spec.architecture}' ({first})"
        ) from err
    return module


def save_weights(module: Any, path: Path, architecture: str, task: str, scale: int = 1) -> str:
    """Write `module`'s tensors with self-describing metadata; returns the file's sha256.

    Floating tensors are stored as fp16: half the size, and the rounding (about 5e-4 relative) is far
    below what the model itself gets wrong. Loading copies them into the model's own dtype.
    """
    from safetensors.torch import save

    from msimg.io.atomic import atomic_write_bytes

    meta = {"architecture": architecture, "config": module.config_dict(), "task": task, "scale": scale}
    tensors = {
        k: (v.half() if v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in module.state_dict().items()
    }
    # in memory, then the atomic writer: safetensors' own file writer makes files owner-only (0600)
    atomic_write_bytes(path, save(tensors, metadata={"msimg": json.dumps(meta)}))
    return sha256_of(path)
