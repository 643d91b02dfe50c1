"""Finding exercises in a polyglot-benchmark checkout and reading what the model may see."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")


class ExerciseError(ValueError):
    """An exercise directory that does not follow the public layout."""


@dataclass(frozen=True)
class Exercise:
    lang: str
    slug: str
    path: Path
    solution: tuple[str, ...]
    test: tuple[str, ...]
    example: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.lang}/{self.slug}"

    def instructions(self) -> str:
        """introduction + instructions + instructions.append, as the model's task."""
        docs = self.path / ".docs"
        parts = [(docs / n).read_text(encoding="utf-8")
                 for n in ("introduction.md", "instructions.md", "instructions.append.md")
                 if (docs / n).is_file()]
        return "\n\n".join(p.strip() for p in parts)


def load_exercise(lang: str, path: Path) -> Exercise:
    try:
        files = json.loads((path / ".meta" / "config.json").read_text(encoding="utf-8"))["files"]
        return Exercise(lang, path.name, path, tuple(files["solution"]), tuple(files["test"]),
                        tuple(files.get("example", ())))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ExerciseError(f"{path}: unreadable .meta/config.json ({e})") from e


def discover(root: Path, languages: list[str] | None = None, keywords: list[str] | None = None,
             num_tests: int | None = None) -> list[Exercise]:
    """Sorted by language then slug; keywords match slug substrings; num_tests keeps the first N."""
    if not root.is_dir():
        raise ExerciseError(f"{root} is not a directory; pass a polyglot-benchmark checkout")
    langs = languages or [d.name for d in sorted(root.iterdir()) if d.name in LANGUAGES]
    found = []
    for lang in langs:
        practice = root / lang / "exercises" / "practice"
        if not practice.is_dir():
            continue
        for d in sorted(practice.iterdir()):
            if d.is_dir() and (not keywords or any(k in d.name for k in keywords)):
                found.append(load_exercise(lang, d))
    if not found:
        raise ExerciseError(f"no exercises under {root}/<lang>/exercises/practice/ match")
    return found[:num_tests] if num_tests else found


def reference_targets(ex: Exercise) -> dict[str, str]:
    """Which solution file each reference file replaces (Java keeps its package path)."""
    out = {}
    for ref in ex.example:
        if ex.lang == "java" and "/reference/java/" in ref:
            rel = ref.split("/reference/java/", 1)[1]
            out[ref] = next((s for s in ex.solution if s.endswith(rel)), f"src/main/java/{rel}")
            continue
        suffix = Path(ref).suffix
        same = [s for s in ex.solution if Path(s).suffix == suffix]
        if not same:
            raise ExerciseError(f"{ex.name}: no solution file matches reference {ref}")
        out[ref] = same[0]
    return out
