"""grader: a GitHub-native submission grader and tracker for notebook courses."""

__version__ = "0.1.0"
