"""Parts of the continuity analyzer (:mod:`harness.audio.analyze` is the entry point)."""
