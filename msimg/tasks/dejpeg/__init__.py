"""The dejpeg task (see msimg.tasks)."""
