"""Out-of-memory back-off and device/precision selection."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from msimg.engine.device import auto_tile, load_model, resolve_device, resolve_dtype
from msimg.engine.runner import TileSettings, run_tiled, run_with_backoff, tensor_stream
from msimg.errors import DeviceError, ModelError
from msimg.models.descriptor import LoadedModel
from msimg.models.weights import shipped_spec
from tests.engine.nets import ConvStack, loaded


class RunsOutOfMemory(nn.Module):
    """Wraps a model and fails like an allocator would above a given input area."""

    def __init__(self, inner: nn.Module, max_pixels: int, message: str) -> None:
        super().__init__()
        self.inner = inner
        self.max_pixels = max_pixels
        self.message = message
        self.calls: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape[-2:]))
        if x.shape[-2] * x.shape[-1] > self.max_pixels:
            raise RuntimeError(self.message)
        return self.inner(x)


@pytest.mark.parametrize(
    "message",
    [
        "CUDA out of memory. Tried to allocate 2.00 GiB",
        "DefaultCPUAllocator: can't allocate memory: you tried",
    ],
)
@pytest.mark.slow
def test_out_of_memory_halves_the_tile_and_the_result_is_unchanged(message: str) -> None:
    base = loaded(ConvStack(depth=4), scale=1, context=4)
    x = torch.rand(1, 3, 300, 200)
    expected = run_tiled(base, x, tile=0)
    flaky = RunsOutOfMemory(base.module, max_pixels=100 * 100, message=message)
    model = LoadedModel(base.descriptor, flaky, base.device, base.dtype)
    fractions: list[float] = []
    stream, out = tensor_stream(model, x)
    used = run_with_backoff(model, stream, TileSettings(overlap=8), tile=0, progress=fractions.append)
    assert used == 64
    assert flaky.calls[0] == (300, 200)  # the whole image first, then halving
    assert max(flaky.calls[-1]) <= 64 + 2 * 4  # a window of the halved tile, never larger
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert (out - expected).abs().max().item() < 1 / 255


def test_other_errors_are_not_mistaken_for_memory() -> None:
    base = loaded(ConvStack(depth=2), scale=1, context=2)
    broken = RunsOutOfMemory(base.module, max_pixels=0, message="mat1 and mat2 shapes cannot be multiplied")
    model = LoadedModel(base.descriptor, broken, base.device, base.dtype)
    with pytest.raises(RuntimeError, match="shapes"):
        run_with_backoff(model, tensor_stream(model, torch.rand(1, 3, 8, 8))[0], TileSettings(), tile=64)


def test_back_off_gives_up_with_a_clear_error() -> None:
    base = loaded(ConvStack(depth=2), scale=1, context=2)
    hopeless = RunsOutOfMemory(base.module, max_pixels=0, message="out of memory")
    model = LoadedModel(base.descriptor, hopeless, base.device, base.dtype)
    with pytest.raises(ModelError, match="out of memory even with --tile"):
        run_with_backoff(model, tensor_stream(model, torch.rand(1, 3, 64, 64))[0], TileSettings(), tile=64)


def test_devices_named_must_exist() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda:0")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")


def test_precision_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert resolve_dtype("auto", cpu, ("fp32", "bf16")) == torch.float32
    assert resolve_dtype("bf16", cpu, ("fp32", "bf16")) == torch.bfloat16
    with pytest.raises(DeviceError, match="not supported by this model"):
        resolve_dtype("fp16", cpu, ("fp32", "bf16"))
    # a GPU (no CUDA needed to decide): fp16 where the model allows it, and bf16 only in hardware
    assert resolve_dtype("auto", gpu, ("fp32", "fp16", "bf16")) == torch.float16
    assert resolve_dtype("auto", gpu, ("fp32",)) == torch.float32
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))  # a T4
    with pytest.raises(DeviceError, match="'bf16' was requested but cuda:0 does not support it"):
        resolve_dtype("bf16", gpu, ("fp32", "fp16", "bf16"))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))  # an A100
    assert resolve_dtype("bf16", gpu, ("fp32", "fp16", "bf16")) == torch.bfloat16


class PassThrough(nn.Module):
    """Its input plus a convolution's output times zero: the convolution runs, the input passes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.seen: list[torch.dtype] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        self.seen.append(y.dtype)
        return x + 0 * y


def test_bf16_rounds_the_products_not_the_input() -> None:
    """bf16 runs as autocast: a 10-bit value passes through exactly (bf16 itself holds 8 significant
    bits, so 1021/1023 would come back as 1020/1023 or 1022/1023), while the convolution runs in bf16."""
    module = PassThrough()
    model = replace(loaded(module, scale=1, context=1), autocast=torch.bfloat16)
    x = torch.randint(0, 1024, (1, 3, 24, 24)).float() / 1023
    assert torch.equal(run_tiled(model, x, tile=0), x)
    assert (run_tiled(model, x, tile=8) - x).abs().max().item() < 1e-6  # the blend's own rounding
    assert module.seen and set(module.seen) == {torch.bfloat16}
    shipped = load_model(shipped_spec("denoise-gunet"), torch.device("cpu"), "bf16")
    assert shipped.autocast == torch.bfloat16 and shipped.dtype == torch.float32
    assert {p.dtype for p in shipped.module.parameters()} == {torch.float32}


@pytest.mark.slow
def test_bf16_runs_close_to_fp32() -> None:
    model = loaded(ConvStack(depth=3), scale=1, context=3)
    x = torch.rand(1, 3, 40, 40)
    half = LoadedModel(model.descriptor, model.module.to(torch.bfloat16), model.device, torch.bfloat16)
    ref = run_tiled(loaded(ConvStack(depth=3), scale=1, context=3), x, tile=0)
    assert run_tiled(half, x, tile=16).dtype == torch.float32
    assert (run_tiled(half, x, tile=16) - ref).abs().mean().item() < 0.05


def test_auto_tile_takes_the_models_cpu_size_when_memory_allows(monkeypatch) -> None:
    from msimg.engine import device

    desc = replace(
        loaded(ConvStack(depth=3), scale=1, context=3).descriptor, cpu_tile=1536, memory_per_pixel=1000
    )
    cpu = torch.device("cpu")
    monkeypatch.setattr(device, "free_memory", lambda _: 4 * 1000 * 1600**2)  # a 1536 window just fits
    assert auto_tile(desc, cpu, torch.float32, batch=1) == 1536
    assert auto_tile(desc, cpu, torch.float32, batch=2) == 768  # twice the windows at once: halved
    monkeypatch.setattr(device, "free_memory", lambda _: 4 * 1000 * 300**2)
    assert auto_tile(desc, cpu, torch.float32, batch=1) == 192


@pytest.mark.slow
def test_self_ensemble_averages_the_eight_transforms_of_each_tile() -> None:
    model = loaded(ConvStack(depth=3, scale=2), scale=2, context=3)
    x = torch.rand(1, 3, 40, 56)
    views = []
    for k in range(4):
        for flip in (False, True):
            t = torch.flip(torch.rot90(x, k, (2, 3)), (3,)) if flip else torch.rot90(x, k, (2, 3))
            y = run_tiled(model, t, tile=0)
            views.append(torch.rot90(torch.flip(y, (3,)) if flip else y, -k, (2, 3)))
    expected = torch.stack(views).mean(0)
    assert (run_tiled(model, x, tile=0) - expected).abs().max() > 1e-3  # the model is not symmetric
    for tile in (0, 16):
        got = run_tiled(model, x, tile=tile, ensemble=True)
        assert (got - expected).abs().max().item() < 1e-4
