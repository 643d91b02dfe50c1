"""The code-generation prompt LiveCodeBench gives chat models (its wording, restated)."""

from __future__ import annotations

from hrmcli.agent.backends.base import Message

from .records import Problem

SYSTEM = ("You are an expert Python programmer. You will be given a question (problem "
          "specification) and will generate a correct Python program that matches the "
          "specification and passes all tests.")

_WITH_STARTER = ("### Format: You will use the following starter code to write the solution "
                 "to the problem and enclose your code within delimiters.\n```python\n{code}\n```\n\n")
_STDIN = ("### Format: Read the inputs from stdin solve the problem and write the answer to "
          "stdout (do not directly test on the sample inputs). Enclose your code within "
          "delimiters as follows. Ensure that when the python program runs, it reads the "
          "inputs, runs the algorithm and writes output to STDOUT.\n"
          "```python\n# YOUR CODE HERE\n```\n\n")


def messages_for(problem: Problem) -> list[Message]:
    fmt = _WITH_STARTER.format(code=problem.starter_code) if problem.starter_code else _STDIN
    user = (f"### Question:\n{problem.question_content}\n\n{fmt}"
            "### Answer: (use the provided format with backticks)\n\n")
    return [Message("system", SYSTEM), Message("user", user)]
