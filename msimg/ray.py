"""For Ray Data users: `Restorer(task, **options)` is a callable class for `Dataset.map_batches`, which
runs it in a pool of actors, each loading the model once.

>>> ds = ray.data.read_images("s3://bucket/photos/")                       # doctest: +SKIP
>>> ds = ds.map_batches(Restorer, fn_constructor_args=("denoise",),         # doctest: +SKIP
...                     fn_constructor_kwargs={"sigma": 15}, concurrency=4, batch_size=8)
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Restorer:
    """One task with its options (as `msimg.run` takes them), its model loaded once; called on a batch
    (a dict of columns, as Ray Data hands them), it restores each image of `column` in place."""

    def __init__(self, task: str, column: str = "image", **options: Any) -> None:
        from msimg.api import session

        self.session, self.column = session(task, **options), column

    def restore(self, image: np.ndarray) -> np.ndarray:
        """One (H, W[, C]) image, as `msimg.run` takes and returns it."""
        from msimg.api import restore_array

        return restore_array(image, lambda pixels: self.session.restore(pixels)[0])

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        images = [self.restore(np.asarray(image)) for image in batch[self.column]]
        same = len({i.shape for i in images}) == 1 and isinstance(batch[self.column], np.ndarray)
        return {**batch, self.column: np.stack(images) if same else images}
