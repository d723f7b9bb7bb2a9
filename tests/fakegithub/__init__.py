"""The shared fake GitHub server for tests (see `server.FakeGitHub`)."""

from .replay import CORPUS, Exchange, load_replay, parse_replay, replay_files
from .server import FakeGitHub, Logged
from .state import PullFile

__all__ = [
    "CORPUS",
    "Exchange",
    "FakeGitHub",
    "Logged",
    "PullFile",
    "load_replay",
    "parse_replay",
    "replay_files",
]
