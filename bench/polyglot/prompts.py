"""Aider's benchmark prompts, restated: the task addendum and the test-failure follow-up."""

from __future__ import annotations

from pathlib import PurePosixPath


def file_list(solution: tuple[str, ...]) -> str:
    return " ".join(PurePosixPath(s).name for s in solution)


def first_message(instructions: str, solution: tuple[str, ...]) -> str:
    return (f"{instructions}\n\n####\n\n"
            f"Use the above instructions to modify the supplied files: {file_list(solution)}\n"
            "Don't change the names of existing functions or classes, as they may be "
            "referenced from other code like unit tests, etc.\n"
            "Only use standard libraries, don't suggest installing any packages.\n")


def test_failure_message(output: str, solution: tuple[str, ...]) -> str:
    return (f"{output}\n\n####\n\nSee the testing errors above.\n"
            "The tests are correct, don't try and change them.\n"
            f"Fix the code in {file_list(solution)} to resolve the errors.\n")


def lint_message(report: str) -> str:
    return f"# Fix any errors below, if possible.\n\n{report}\n"
