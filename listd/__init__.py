"""listd: a mailing-list server daemon."""

__version__ = "0.1.0"
