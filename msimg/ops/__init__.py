"""Maths shared by tasks, models, training and I/O: colour-filter arrays, colour curves, blur kernels,
edge-preserving filters and image quality metrics. Imports nothing else of msimg but errors."""
