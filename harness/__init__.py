"""harness: proves iOS voice apps keep their audio through interruptions and route changes."""

__version__ = "0.1.0"
