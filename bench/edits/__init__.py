"""The built-in edit-task suite (`hrm bench edits`): small real projects, each with a
request as a user would write it and a check that runs code. `run_suite` is what the
command runs, for scripts that compare models."""

from .runner import EditSettings, TaskResult, reference_blocks, run_suite, verify_task
from .suite import KINDS, LANGUAGES, EditTask, SuiteError, load_tasks

__all__ = ["KINDS", "LANGUAGES", "EditSettings", "EditTask", "SuiteError", "TaskResult",
           "load_tasks", "reference_blocks", "run_suite", "verify_task"]
