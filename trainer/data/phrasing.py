"""Varied natural-language phrasing for generated tasks.

Templates use `[a|b|c]` for a choice among synonyms (nesting allowed) and `{slot}` for
values. Choices come from the caller's random.Random, so a seed fixes the wording.
"""

from __future__ import annotations

import random
import re

_CHOICE = re.compile(r"\[([^\[\]]*)\]")

TEMPLATES: dict[str, tuple[str, ...]] = {
    "implement": (
        "[Implement|Write|Fill in|Complete] [the body of |]`{name}` in {path}[| following its {doc}].",
        "`{name}` in {path} is [a stub|not implemented yet|only a placeholder]. [Implement it|Write the implementation|Make it work] [as its {doc} describes|according to its {doc}|].",
        "[Please |Can you |]implement `{name}`[| in {path}] so it does what the {doc} says.",
        "[Replace|Swap out] the placeholder body of `{name}` with a [real|working|proper] implementation.",
        "Finish the exercise: `{name}` [still raises|has no implementation|is empty]; [implement it|write it] [from|using] the {doc}[| and signature].",
    ),
    "rename": (
        "[Rename|Change the name of] the {what} `{old}` to `{new}`[| and update [its uses|every use|all references] in {path}].",
        "[Please |Could you |]rename `{old}` to `{new}` [throughout|everywhere in|across] {path}.",
        "`{old}` is a [poor|confusing|misleading] name; [call it|rename it to|use] `{new}` [instead|]{scope}.",
        "[Refactor|Clean up]: {what} `{old}` -> `{new}`[| (update all references)].",
        "rename {old} to {new}[| everywhere| in this file]{scope}[| and [update|fix] [the callers|its callers|the call sites|every use]].",
        "[call|name] the {what} {new} instead of {old}{scope}[|, and fix the places that use it].",
    ),
    "literal": (
        "In `{func}`, change {old} to {new}.",
        "[Change|Update|Set] the {kind} {old} in `{func}` to {new}.",
        "[Please |]replace {old} with {new} in `{func}`[| ({path})].",
        "`{func}` should use {new} [instead of|rather than|and not] {old}.",
    ),
    "add_param": (
        "Add a parameter {param} to `{func}`{calls}.",
        "[Give|Extend] `{func}` [with |]a new [parameter|argument] {param}{calls}.",
        "`{func}` needs an extra [parameter|argument]: {param}{calls}.",
        "[Please |]add {param} [at the end of|to] the parameter list of `{func}`{calls}.",
    ),
    "add_import": (
        "[Add|Insert] the missing import: `{stmt}`.",
        "{path} uses `{names}` but [never imports it|doesn't import it|is missing the import]. Add `{stmt}`.",
        "[The build fails|It fails] because `{names}` is not imported in {path}; add `{stmt}` [with the other imports|where the imports are|].",
        "[Please |]import `{names}` in {path} (`{stmt}`).",
    ),
    "fix_bug": (
        "[There is|There's] a bug in `{func}`: {hint}. [Fix it|Please fix it|Can you fix it]?",
        "`{func}` [gives wrong results|misbehaves|is broken]. {hint_cap}.",
        "[Fix|Repair|Correct] the bug in `{func}` ({path}). {hint_cap}.",
        "{hint_cap} in `{func}`; [fix|correct] it [without changing anything else|with a minimal change|].",
    ),
    # The inverse mutations (trainer.data.inverse_tasks).
    "param_from_literal": (
        "Add a parameter `{param}` to `{func}` with default `{default}` [and use it instead of the hard-coded value|to replace the hard-coded `{default}`|in place of the hard-coded `{default}`].",
        "`{func}` should take `{param}` as a parameter (default `{default}`) instead of hard-coding `{default}`.",
        "[Make|Turn] the hard-coded `{default}` in `{func}` into [a parameter|an optional parameter] `{param}`[| with that default| that defaults to `{default}`].",
        "[Please |]let callers of `{func}` [choose|pass|override] `{param}` instead of the hard-coded `{default}`; it should default to `{default}`.",
        "[add|Add] a `{param}` parameter to `{func}`[| at the end of its parameters] (default `{default}`) [and use it where `{default}` is hard-coded|to replace the hard-coded `{default}`].",
    ),
    "add_guard": (
        "`{func}` should return {value} when {cond}.",
        "[Make|Have] `{func}` return {value} [early |right away |]when {cond}.",
        "[Add a guard to|Add an early return to] `{func}`: [return|it should return] {value} if {cond}.",
        "If {cond}, `{func}` should [just |immediately |]return {value}.",
        "[Handle the case|Deal with the case] when {cond} in `{func}`: return {value}.",
    ),
    "missing_import_python": (
        "`{func}` fails with NameError: name '{name}' is not defined. [add the missing import|Add the missing import|Fix the import].",
        "Calling `{func}` raises `NameError: name '{name}' is not defined`[|. Please fix| -- add the import it needs].",
        "[I get|Getting] NameError: name '{name}' is not defined [in|from] `{func}`[| ({path})]; [add the missing import|import what's missing].",
        "{path}: `{func}` uses `{name}` but it is never imported. [Fix that|Add the import].",
    ),
    "missing_import_go": (
        "undefined: {name}. [add the import|Add the missing import|fix the imports]",
        "`go build` fails with `undefined: {name}` in `{func}`; add the missing import.",
        "[Build error|Compile error] in {path}: undefined: {name} (used in `{func}`). [Add the import|Please add the missing import].",
        "`{func}` uses `{name}` but {path} does not import it[|: undefined: {name}]. [Add the import|Fix the imports].",
    ),
    "missing_import_javascript": (
        "`{func}` throws ReferenceError: {name} is not defined; add the missing {stmt}.",
        "ReferenceError: {name} is not defined [when calling|in] `{func}`. [Add the missing {stmt}|Please add the {stmt}].",
        "{path}: `{func}` uses `{name}` but it is never defined[| (ReferenceError)]; add the {stmt}[| for it].",
        "[Fix|Please fix] `ReferenceError: {name} is not defined` in `{func}` by adding the missing {stmt}.",
    ),
    "add_docstring": (
        "[Add a {doc} to|Write a {doc} for] `{func}`.",
        "Document `{func}` with a {doc}.",
        "`{func}` has no {doc}; [add one|please write one].",
        "[Please |]add a [short |brief |]{doc} to `{func}`[| in {path}].",
    ),
}

BUG_HINTS: dict[str, tuple[str, ...]] = {
    "operator_swap": ("an arithmetic or logical operator is wrong", "one operator looks swapped",
                      "I think the wrong operator is used"),
    "off_by_one": ("looks like an off-by-one error", "a boundary is off by one",
                   "there's an off-by-one mistake"),
    "wrong_variable": ("the wrong variable is used somewhere", "a variable is mixed up with another",
                       "it reads the wrong variable"),
    "flipped_comparison": ("a comparison is inverted", "one of the comparisons goes the wrong way",
                           "a condition is flipped"),
}

DOC_WORDS = ("docstring", "doc comment", "documentation", "comment")


def expand(template: str, rng: random.Random) -> str:
    """Resolve the innermost [a|b] choices until none are left."""
    while True:
        m = _CHOICE.search(template)
        if m is None:
            return template
        pick = rng.choice(m.group(1).split("|"))
        template = template[:m.start()] + pick + template[m.end():]


CASUAL = 0.5  # the share of requests typed the way people type into a terminal


def casual(text: str, rng: random.Random) -> str:
    """A request as people often type it: names without backticks, a lower-case start,
    no full stop. Templates alone are too tidy for what users write."""
    if rng.random() < 0.7:
        text = text.replace("`", "")
    if rng.random() < 0.7:
        text = text[:1].lower() + text[1:]
    if rng.random() < 0.7 and text.endswith("."):
        text = text[:-1]
    return text


def phrase(template: str, rng: random.Random, **slots: str) -> str:
    text = expand(rng.choice(TEMPLATES[template]), rng)
    text = text.format(**slots)
    text = re.sub(r"\s+([.,)])", r"\1", re.sub(r" {2,}", " ", text)).strip()
    return casual(text, rng) if rng.random() < CASUAL else text


def bug_hint(bug: str, rng: random.Random) -> str:
    return rng.choice(BUG_HINTS[bug])
