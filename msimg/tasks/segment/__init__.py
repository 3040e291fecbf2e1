"""The segment task (see msimg.tasks)."""
