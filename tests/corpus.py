"""The shared corpus (../shared/corpus): real material written by others.

It lies beside the repository here and in `.ci/run`, but not on GitHub's own
runners. A test that needs it says so with `needs_corpus` (or asks for a file
with `corpus_file`); where the corpus is absent those tests skip, all with the
one reason below. A file missing from a corpus that is present is a real
error and fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
NOTEBOOKS = CORPUS / "notebooks"
REASON = "../shared/corpus is not beside the repository (GitHub's own CI has none)"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=REASON)


def corpus_file(*parts: str) -> Path:
    """A file of the corpus; skips the calling test (with REASON) when there is no corpus."""
    if not CORPUS.is_dir():
        pytest.skip(REASON)
    return CORPUS.joinpath(*parts)
