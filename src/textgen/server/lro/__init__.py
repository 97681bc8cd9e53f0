"""Long-running operations: the lifecycle (create, progress, finish, cancel) and waiting."""
