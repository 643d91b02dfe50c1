"""Run statistics with Aider's formulas: every denominator is the number of completed cases."""

from __future__ import annotations


def _rates(results: list[dict], tries: int) -> dict:
    completed = len(results)
    out: dict = {"completed": completed}
    for k in range(1, tries + 1):
        passed = sum(1 for r in results if any(r["tests_outcomes"][:k]))
        out[f"pass_rate_{k}"] = 100.0 * passed / completed if completed else 0.0
    return out


def summarize(results: list[dict], total: int, tries: int, model: str, edit_format: str,
              totals_by_lang: dict[str, int]) -> dict:
    completed = len(results)
    malformed_cases = sum(1 for r in results if r["num_malformed_responses"])
    s = {
        **_rates(results, tries), "total": total, "model": model, "edit_format": edit_format,
        "percent_cases_well_formed": 100.0 * (1 - malformed_cases / completed) if completed else 0.0,
        "error_outputs": sum(r["num_error_outputs"] for r in results),
        "num_malformed_responses": sum(r["num_malformed_responses"] for r in results),
        "num_with_malformed_responses": malformed_cases,
        "user_asks": sum(r["num_user_asks"] for r in results),
        "lazy_comments": sum(r["lazy_comments"] for r in results),
        "syntax_errors": sum(r["syntax_errors"] for r in results),
        "indentation_errors": sum(r["indentation_errors"] for r in results),
        "exhausted_context_windows": sum(r["num_exhausted_context_windows"] for r in results),
        "test_timeouts": sum(r["test_timeouts"] for r in results),
        "prompt_tokens": sum(r["prompt_tokens"] for r in results),
        "completion_tokens": sum(r["completion_tokens"] for r in results),
        "seconds_per_case": sum(r["duration"] for r in results) / completed if completed else 0.0,
        "total_cost": sum(r["cost"] for r in results),
    }
    s["per_language"] = {}
    for lang, n in sorted(totals_by_lang.items()):
        sub = [r for r in results if r["language"] == lang]
        s["per_language"][lang] = {**_rates(sub, tries), "total": n}
    return s
