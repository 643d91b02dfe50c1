"""Pick a backend from a `--model` spec (llm-style: one name resolves to one Model).

A spec is a path to a .gguf file (architecture hrm-code runs on our runtime, any other on
llama-cpp-python), a model name from `hrm models`, `hrm` or empty for the bundled HRM-Code,
or `openai:URL#model` for an OpenAI-compatible server on this machine.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hrmcli.agent.backends.base import Backend
from hrmcli.config import bundled_weights_dir, load_config, paths

HRM_ARCH = "hrm-code"


class BackendError(RuntimeError):
    """A model cannot be found, loaded or reached; the message says what to do next."""


class ContextExceeded(BackendError):
    """The prompt does not fit the model's context window."""


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    size: int
    arch: str
    quant: str
    name: str
    context: int | None


def read_gguf_info(path: Path) -> ModelInfo:
    """Architecture, quantisation and name from a GGUF header, without loading weights."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path), "r")
    except (OSError, ValueError, KeyError, IndexError) as e:
        raise BackendError(f"{path} is not a readable GGUF file: {e}") from e

    def field(key: str) -> object:
        f = reader.get_field(key)
        return f.contents() if f is not None else None

    arch = str(field("general.architecture") or "unknown")
    ctx = field(f"{arch}.context_length")
    file_type = field("general.file_type")
    if isinstance(file_type, int):
        try:
            quant = gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            quant = f"type {file_type}"
    else:  # no header field: name the commonest matrix type
        kinds = Counter(t.tensor_type.name for t in reader.tensors if len(t.shape) > 1)
        quant = kinds.most_common(1)[0][0] if kinds else "unknown"
    return ModelInfo(
        path=path, size=path.stat().st_size, arch=arch, quant=quant,
        name=str(field("general.name") or path.stem), context=int(ctx) if ctx else None,
    )


def bundled_model() -> Path | None:
    files = sorted(bundled_weights_dir().glob("*.gguf"))
    return files[0] if files else None


def installed_models() -> list[Path]:
    d = paths().models_dir
    return sorted(d.glob("*.gguf")) if d.is_dir() else []


def _no_default_model() -> BackendError:
    return BackendError(
        f"no bundled HRM-Code model in {bundled_weights_dir()}. Train and convert one "
        f"(`hrm train`, then `hrm convert`) and put the .gguf in {paths().models_dir}, "
        "or pass --model PATH.gguf or --model openai:http://127.0.0.1:8080/v1#MODEL"
    )


def resolve_model_path(spec: str) -> Path:
    """The GGUF file a spec names; `hrm`/empty means the configured or bundled default."""
    spec = spec.strip()
    if spec in ("", "hrm"):
        default = str(load_config().get("model", {}).get("default", "")).strip()
        if default and default not in ("hrm", spec):
            return resolve_model_path(default)
        found = bundled_model()
        if found is None:
            raise _no_default_model()
        return found
    p = Path(spec).expanduser()
    if p.is_file():
        return p
    for cand in installed_models() + ([bundled_model()] if bundled_model() else []):
        if spec in (cand.name, cand.stem):
            return cand
    raise BackendError(
        f"no model '{spec}': not a file and not in {paths().models_dir}; "
        "`hrm models` lists the models hrm can use"
    )


def _openai(spec: str) -> Backend:
    from hrmcli.agent.backends.openai_compat import (
        DEFAULT_CONTEXT,
        DEFAULT_TIMEOUT_S,
        OpenAICompatBackend,
    )

    url, _, model = spec.removeprefix("openai:").partition("#")
    conf = load_config().get("openai", {})
    return OpenAICompatBackend(
        url, model,
        context_size=int(conf.get("context_size", DEFAULT_CONTEXT)),
        timeout_s=float(conf.get("timeout_s", DEFAULT_TIMEOUT_S)),
        allow_remote=bool(conf.get("allow_remote", False)),
        api_key=str(conf.get("api_key", "")),
    )


def load_backend(spec: str = "") -> Backend:
    """Load the backend a --model spec names. Raises BackendError with a next step."""
    if spec.startswith("openai:"):
        return _openai(spec)
    path = resolve_model_path(spec)
    info = read_gguf_info(path)
    if info.arch == HRM_ARCH:
        from hrmcli.agent.backends.hrm import HRMBackend

        return HRMBackend(path)
    from hrmcli.agent.backends.llama import LlamaCppBackend

    ctx = int(load_config().get("llama", {}).get("context_size", 0)) or min(info.context or 4096, 8192)
    return LlamaCppBackend(path, context_size=ctx)
