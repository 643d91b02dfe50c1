"""`hrm doc FILE [SYMBOL]`: the model writes documentation for the functions of FILE that
lack it (or for SYMBOL), as SEARCH/REPLACE edits proposed through the edit coder and written
through the one edit transaction, as `hrm edit` does (all or nothing, one commit that
`hrm undo` drops).

Documentation must not change behaviour, so before anything is shown or written the
proposed file is compared with the current one by hrmcli.agent.docguard: the syntax trees
must be equal once comments and docstrings are left out. Otherwise the edit is refused with
the first place that differs, and nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from hrmcli.commands._common import ask_to_apply, fail, load_backend_or_fail, report_written

STYLES = ("google", "numpy", "jsdoc", "godoc", "rustdoc", "javadoc")
DOCSTRING_STYLES = ("google", "numpy")  # Python docstrings; the rest are comments
STYLE_NAMES = {"google": "Google", "numpy": "NumPy", "jsdoc": "JSDoc", "godoc": "Godoc",
               "rustdoc": "Rustdoc", "javadoc": "Javadoc"}

DOC_HELP = (
    "Document the functions of FILE that have no documentation (or only SYMBOL, documented "
    "or not: Name or Class.method). The model proposes SEARCH/REPLACE edits; the diff is "
    "shown and applied on confirmation (or --yes), all or nothing, and committed in git as "
    "an hrm edit (hrm undo drops it).\n\n"
    "Only comments and docstrings may change: the file's syntax tree before and after is "
    "compared without them, and any other change refuses the edit, writes nothing and "
    "exits 1.\n\n"
    "--style defaults by language: google (Python), jsdoc (JavaScript, TypeScript), godoc, "
    "rustdoc, javadoc (Java, C, C++). --model as for hrm edit."
)


def style_for(language: str, style: str) -> str:
    """The style to write: the one asked for, or the language's default. Raises ValueError
    when the style cannot be written in the language (docstrings outside Python, comments
    instead of Python docstrings)."""
    from hrmcli.languages import DOC_STYLES

    chosen = style or DOC_STYLES[language]
    if chosen not in STYLES:
        raise ValueError(f"--style must be one of {', '.join(STYLES)}, not {chosen!r}")
    if (language == "python") != (chosen in DOCSTRING_STYLES):
        fits = DOCSTRING_STYLES if language == "python" else \
            tuple(s for s in STYLES if s not in DOCSTRING_STYLES)
        raise ValueError(f"{chosen} style does not fit {language} files; use one of "
                         f"{', '.join(fits)} (default {DOC_STYLES[language]})")
    return chosen


def doc_task(path: str, targets: list, style: str, symbol: str | None) -> str:
    """The request the model gets: which functions, and the style guide
    (prompts/doc_task.md and doc_styles.md)."""
    from hrmcli.agent import prompts

    what = f"the function {symbol}" if symbol else "these functions, which have no documentation,"
    listed = "\n".join(f"- {t.describe()}" for t in targets)
    return prompts.render("doc_task.md", what=what, path=path, style=STYLE_NAMES[style],
                          targets=listed, guide=prompts.sections("doc_styles.md")[style.upper()])


def doc_cmd(
    file: Path = typer.Argument(..., help="The file to document."),
    symbol: str = typer.Argument(None, help="Only this function: Name or Class.method."),
    style: str = typer.Option("", "--style", "-s", help=f"One of {', '.join(STYLES)}."),
    model: str = typer.Option("", "--model", "-m", help="Model: .gguf path, name, or openai:URL#model."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the diff; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last (human output goes to stderr)."),
    max_tokens: int = typer.Option(2048, "--max-tokens", help="Most tokens per model reply."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature (0 = greedy)."),
) -> None:
    from hrmcli.languages import language_of

    out = Console(stderr=as_json, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not file.is_file():
        fail(err, f"{file} is not a file; give the path of the file to document", 2)
    lang = language_of(file)
    if lang is None:
        fail(err, f"hrm doc does not know the language of {file.name}; it documents Python, "
                  "JavaScript, TypeScript, Go, Rust, Java, C and C++ files", 2)
    try:
        chosen = style_for(lang.name, style)
    except ValueError as e:
        fail(err, str(e), 2)
    try:
        _doc(file, symbol, chosen, model, yes, dry_run, as_json, max_tokens, temperature,
             out, err)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted;[/] nothing was written")
        raise typer.Exit(130) from None


def _doc(file: Path, symbol: str | None, style: str, model: str, yes: bool, dry_run: bool,
         as_json: bool, max_tokens: int, temperature: float, out: Console, err: Console) -> None:
    from rich.markup import escape
    from rich.syntax import Syntax

    from hrmcli.agent.apply import apply_edits
    from hrmcli.agent.backends import BackendError
    from hrmcli.agent.backends.base import GenerationOptions
    from hrmcli.agent.coder import CoderError, EditCoder
    from hrmcli.agent.docguard import CodeChanged, check_docs_only
    from hrmcli.agent.doctargets import SymbolNotFound, find_targets, select
    from hrmcli.agent.history import History, HistoryError
    from hrmcli.agent.transaction import EditTransaction
    from hrmcli.languages import grammar_for
    from hrmcli.tools.git import GitError, GitRepo

    repo = GitRepo.find(file.resolve().parent)
    root = repo.root if repo else file.resolve().parent
    rel = file.resolve().relative_to(root.resolve()).as_posix()
    grammar = grammar_for(file)
    original = file.read_bytes()
    try:
        text = original.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(err, f"{rel} is not UTF-8 text; convert it first", 2)
    targets = find_targets(text, grammar)
    try:
        chosen = select(targets, symbol) if symbol else [t for t in targets if not t.documented]
    except SymbolNotFound as e:
        fail(err, str(e), 2)
    report: dict = {"applied": False, "well_formed": True, "files": [], "diff": "",
                    "style": style, "targets": [t.name for t in chosen]}

    def finish(code: int, status: str, **extra: object) -> None:
        if session:
            session.finish(status)
        if as_json:
            print(json.dumps({**report, **extra}))
        raise typer.Exit(code)

    session = None
    if not chosen:
        out.print(f"Every function in {escape(rel)} has documentation; nothing to do "
                  "(name a SYMBOL to rewrite one).")
        finish(0, "no-change")

    backend = load_backend_or_fail(err, model)
    try:
        history: History | None = History()
    except HistoryError as e:
        err.print(f"[yellow]warning:[/] {escape(str(e))}; this session is not logged")
        history = None
    names = ", ".join(t.name for t in chosen)
    session = history.start("doc", backend.name, root, title=f"{rel}: {names}") \
        if history else None
    err.print(f"Documenting {escape(names)} in {escape(rel)} ({style} style)...")
    written = 0

    def on_text(piece: str) -> None:
        nonlocal written
        written += len(piece)
        status.update(f"the model is writing ({written} characters)...")

    def on_attempt(attempt: int, failures: str) -> None:
        err.print(f"[yellow]the edits did not apply; asking again (try {attempt}):[/]\n"
                  f"{escape(failures)}")

    coder = EditCoder(backend, root, session=session, on_text=on_text, on_attempt=on_attempt,
                      options=GenerationOptions(max_tokens=max_tokens, temperature=temperature))
    try:
        with err.status("the model is writing...") as status:
            outcome = coder.propose([rel], doc_task(rel, chosen, style, symbol))
    except (CoderError, BackendError) as e:
        if session:
            session.finish("error")
        fail(err, str(e))
    report.update(outcome.to_json())
    if not outcome.well_formed:
        err.print("[red]the model's reply did not give edits that apply; nothing was written.[/]")
        for e in outcome.errors:
            err.print(f"[red]-[/] {escape(e)}")
        finish(1, "malformed", errors=outcome.errors)
    if not outcome.diff:
        out.print("The model's edits change nothing.")
        finish(0, "no-change")

    preview = apply_edits(outcome.edits, root, dry_run=True)
    try:
        if preview.failed or set(preview.new_contents) != {rel}:
            raise CodeChanged(f"the edits no longer apply to {rel} alone (the file changed?)")
        check_docs_only(text, preview.new_contents[rel], grammar, rel)
    except CodeChanged as e:
        err.print(f"[red]refused:[/] {escape(str(e))}")
        err.print("Nothing was written. hrm doc only adds or rewrites comments and docstrings.")
        report["diff"] = ""
        finish(1, "refused", refused=str(e), proposed_diff=outcome.diff)

    out.print(Syntax(outcome.diff, "diff", theme="ansi_dark", background_color="default"))
    out.print(f"[dim]{outcome.tokens} tokens in {outcome.seconds:.1f} s; only comments and "
              "docstrings change (checked on the syntax tree)[/]")
    if dry_run:
        out.print("--dry-run: nothing was written.")
        finish(0, "dry-run")
    declined = ask_to_apply(yes, "Apply this documentation?", out, err)
    if declined:
        finish(*declined)
    if file.read_bytes() != original:  # what was checked is what gets written
        err.print(f"[red]error:[/] {escape(rel)} changed while the model was writing; nothing "
                  "was written. Run hrm doc again.")
        finish(1, "failed")

    tx = EditTransaction(root, f"doc {rel}: {style} docs for {names}"[:100], session=session)
    try:
        done = tx.apply(outcome.edits)
    except GitError as e:
        err.print(f"[red]error:[/] {escape(str(e))}; nothing was written")
        finish(1, "error")
    if not done.ok:
        err.print("[red]the edits no longer apply (the file changed?); nothing was written.[/]")
        for e in done.errors:
            err.print(f"[red]-[/] {escape(e)}")
        finish(1, "failed", errors=done.errors)
    report.update(applied=True, files=done.files, diff=done.diff, commit=done.commit)
    report_written(done, out, err, "Documented", "the documentation")
    finish(0, "applied")


def register(app: typer.Typer) -> None:
    app.command("doc", help=DOC_HELP)(doc_cmd)
