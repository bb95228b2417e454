class StackError(RuntimeError):
    """A part of the local stack could not be installed, started or stopped."""
