"""Where hrm keeps its config, models, cache and data (platformdirs), and the TOML config."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as the `tomli` dependency
    import tomli as tomllib

APP = "hrmcli"


@dataclass(frozen=True)
class Paths:
    config_file: Path
    models_dir: Path
    cache_dir: Path
    data_dir: Path

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite3"


def paths() -> Paths:
    """HRM_HOME overrides every location (tests and portable installs use it)."""
    home = os.environ.get("HRM_HOME")
    if home:
        root = Path(home)
        return Paths(root / "config.toml", root / "models", root / "cache", root / "data")
    return Paths(
        Path(platformdirs.user_config_dir(APP)) / "config.toml",
        Path(platformdirs.user_data_dir(APP)) / "models",
        Path(platformdirs.user_cache_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
    )


def load_config() -> dict:
    """The user's TOML config, or {} when there is none. A broken file is a clear error."""
    f = paths().config_file
    if not f.exists():
        return {}
    try:
        return tomllib.loads(f.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"config file {f} is not valid TOML: {e}. Fix or delete it.") from e


def bundled_weights_dir() -> Path:
    return Path(__file__).parent / "weights"
