"""The deblur task (see msimg.tasks)."""
