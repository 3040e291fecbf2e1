"""The demosaic task (see msimg.tasks)."""
