"""User-facing errors: the CLI prints their message and exits with code 2, never a traceback."""


class PhysllmError(Exception):
    """A problem with the user's input: the message names the path and what was expected."""


class DatasetError(PhysllmError):
    """A dataset root, layout or ground-truth file that does not match its published format."""


class VideoError(PhysllmError):
    """A video that cannot be opened or decoded."""


class CacheError(PhysllmError):
    """A shard cache that is missing, of another schema version, or built with other settings."""


class CheckpointError(PhysllmError):
    """A checkpoint whose keys, shapes or config do not fit the model asked for."""
