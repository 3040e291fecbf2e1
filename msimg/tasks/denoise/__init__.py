"""The denoise task (see msimg.tasks)."""
