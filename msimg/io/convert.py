"""File dtypes <-> the engine's float [0, 1]. The only place where bit depth is interpreted."""

from __future__ import annotations

import numpy as np

_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def to_float(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, C) pixels -> (colour (H, W, 1|3) float32, alpha (H, W) float32 or None).

    Integers are scaled by their dtype's maximum (never by the values present); float32 is taken as is.
    """
    scale = _SCALE.get(pixels.dtype, 1.0)
    channels = pixels.shape[2]
    colour_channels = 1 if channels in (1, 2) else 3
    colour = pixels[..., :colour_channels].astype(np.float32)
    if scale != 1.0:
        colour *= np.float32(1.0 / scale)
    alpha = None
    if channels in (2, 4):
        alpha = pixels[..., -1].astype(np.float32)
        if scale != 1.0:
            alpha *= np.float32(1.0 / scale)
    return colour, alpha


def from_float(colour: np.ndarray, alpha: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    """Back to (H, W, C) of `dtype`: integers are clipped and rounded; float32 is left unclipped.

    `colour` may be modified in place (it is the engine's scratch result).
    """
    dtype = np.dtype(dtype)
    planes = [colour] if alpha is None else [colour, alpha[..., None]]
    if dtype in _SCALE:
        scale = np.float32(_SCALE[dtype])
        out = []
        for plane in planes:
            plane = np.multiply(plane, scale, out=plane if plane.dtype == np.float32 else None)
            np.clip(plane, 0, scale, out=plane)
            out.append(np.rint(plane, out=plane).astype(dtype, order="C"))
        planes = out
    else:
        planes = [np.ascontiguousarray(p, dtype=dtype) for p in planes]
    return planes[0] if len(planes) == 1 else np.concatenate(planes, axis=2)
