"""Class-agnostic segmentation: regions from boundary maps, superpixels, and the BSDS measures."""
