"""The dehaze task (see msimg.tasks)."""
