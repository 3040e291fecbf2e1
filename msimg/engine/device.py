"""Device and precision selection, a model placed on them, free memory, and `--tile auto`.

An explicitly requested device or precision that is not available is an error, never a silent fallback.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from msimg import backends
from msimg.errors import DeviceError, MsimgError
from msimg.models.descriptor import LoadedModel, ModelDescriptor
from msimg.models.weights import ModelSpec, build_module, sha256_of

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(spec: str = "auto") -> torch.device:
    """`auto` picks CUDA, then MPS, then CPU; anything named must exist."""
    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' was requested but this torch build or machine has no MPS")
        return torch.device("mps")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device '{spec}' was requested but CUDA is not available (torch {torch.__version__})"
            )
        index = int(spec.split(":", 1)[1]) if ":" in spec else torch.cuda.current_device()
        if not 0 <= index < torch.cuda.device_count():
            raise DeviceError(
                f"device '{spec}' does not exist: {torch.cuda.device_count()} CUDA device(s) found"
            )
        return torch.device("cuda", index)
    raise DeviceError(f"unknown device '{spec}' (use auto, cpu, cuda, cuda:N or mps)")


def resolve_dtype(spec: str, device: torch.device, supported: tuple[str, ...]) -> torch.dtype:
    """`auto` is fp32 on CPU and fp16 on a GPU where the model allows it: for these models fp16 stays
    closer to fp32 than bf16 (mean 0.04 against 0.2 8-bit levels over the tasks, measured in a review
    on CPU), their activations peak near 100, far below fp16's 65504, and every GPU has fast fp16. On a
    CPU even bf16 autocast moves demosaic's linear results by up to 10 levels (BENCHMARKS.md)."""
    spec = spec.strip().lower()
    if spec == "auto":
        if device.type == "cpu":
            return torch.float32
        return torch.float16 if "fp16" in supported else torch.float32
    if spec not in DTYPES:
        raise DeviceError(f"unknown precision '{spec}' (use auto, fp32, fp16 or bf16)")
    if spec not in supported:
        raise DeviceError(
            f"precision '{spec}' is not supported by this model (supports {', '.join(supported)})"
        )
    if spec == "bf16" and not _has_bf16(device):
        raise DeviceError(f"precision 'bf16' was requested but {device} does not support it")
    return DTYPES[spec]


def _has_bf16(device: torch.device) -> bool:
    """bf16 in hardware: NVIDIA from compute capability 8.0 (torch.cuda.is_bf16_supported also says yes
    for older cards, where it is emulated or cuDNN has no kernels), Apple GPUs from macOS 14."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    if device.type == "mps":
        return torch.backends.mps.is_macos_or_newer(14, 0)
    return True


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (x86: AVX-512 BF16 or AMX), from Linux's CPU flags
    (unknown elsewhere: no): without it `--precision bf16` is emulated, and slower than fp32."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return False
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def free_memory(device: torch.device) -> int:
    """Bytes the engine may still allocate on `device`."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "mps":
        return int(torch.mps.recommended_max_memory() - torch.mps.current_allocated_memory())
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def auto_tile(desc: ModelDescriptor, device: torch.device, dtype: torch.dtype, batch: int) -> int:
    """Largest core size whose activations fit a quarter of free memory, up to the model's own on a CPU
    (`Traits.cpu_tile`) and 2048 on a GPU."""
    bytes_per_px = desc.memory_per_pixel * (2 if dtype == torch.float32 else 1) // 2 * batch
    budget = free_memory(device) // 4
    cap = desc.cpu_tile if device.type == "cpu" else 2048
    tile = cap
    while tile > 64 and (tile + 2 * desc.context) ** 2 * bytes_per_px > budget:
        tile //= 2
    return tile


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def load_model(
    spec: ModelSpec, device: torch.device, precision: str = "auto", backend: str = "torch"
) -> LoadedModel:
    """A model built from its spec, on `device` in the precision `precision` resolves to, in eval mode,
    run by `backend` (`msimg.backends`; auto: the model's fastest installed one for the device)."""
    desc = spec.descriptor()
    dtype = resolve_dtype(precision, device, desc.dtypes)
    # bf16 as autocast: weights, inputs and precision-sensitive steps (norms, softmax, a classical stage
    # inside the model) stay fp32 and only the matrix products round, so a 10- or 12-bit mosaic is not
    # cut to bf16's 8 significant bits before anything sees it
    autocast = dtype if dtype == torch.bfloat16 else None
    dtype = torch.float32 if autocast else dtype
    # channels_last: up to 2x faster convolutions on CPU (oneDNN) and on tensor-core GPUs
    module = build_module(spec).eval().to(device=device, dtype=dtype, memory_format=torch.channels_last)
    for p in module.parameters():
        p.requires_grad_(False)
    if spec.architecture == "onnx":  # a user's graph: the module calls the runtime it was opened on
        return LoadedModel(desc, module, device, dtype, autocast, module.runtime)
    auto = backend.strip().lower() == "auto"
    sha = spec.sha256 or (sha256_of(spec.path) if spec.path is not None else None)
    for name in backends.candidates(backend, desc.preferred(_precision(autocast)), device.type):
        try:
            if sha is None:  # no file of its own to convert and name a cached graph by
                raise DeviceError(f"--backend {name} converts one weights file; {spec.name} has none")
            if dtype != torch.float32:
                raise DeviceError(f"--backend {name} runs networks in fp32 or bf16 only")
            multiple, precision = desc.size.multiple_of, _precision(autocast)
            run = backends.prepare(name, module, desc.in_channels, multiple, sha, precision)
        except MsimgError:
            if not auto:
                raise
            continue  # auto: the next one, at worst torch itself
        return LoadedModel(desc, module, device, dtype, autocast, name, run)
    return LoadedModel(desc, module, device, dtype, autocast)


def _precision(autocast: torch.dtype | None) -> str:
    return "bf16" if autocast == torch.bfloat16 else "fp32"
