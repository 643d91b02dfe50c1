"""Session-wide test settings."""

import os

# rich hard-wraps output that is not a terminal at 80 columns, so a message holding a long
# temporary path would break across lines depending on the path's length; tests read
# messages whole.
os.environ.setdefault("COLUMNS", "400")
