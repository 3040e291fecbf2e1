"""The super_resolve task (see msimg.tasks)."""
