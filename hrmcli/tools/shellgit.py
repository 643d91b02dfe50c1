"""git for the judge: global options that run programs, force pushes in every spelling,
and the subcommands that write files or run commands.

`git -c core.pager='sh -c ...' log` and `git -c alias.x='!sudo ls' x` run shell text: it is
judged. hrm never pushes: `git push` and everything else that sends commits to a remote
(`send-pack`, `http-push`, `subtree push`, `lfs push`, `svn dcommit`, the dashed `git-push`)
is denied in every spelling, through `-c alias.x=push` aliases too. A force push
(`--force`, `-f`, `--force-with-lease`, `--mirror`, `--delete`, a `+refspec` or a
`:branch`) is named as such. A subcommand git does not ship may be an alias from a config
file the judge does not read (`alias.p = push`) or a `git-NAME` program: it cannot be judged.
`git config --global` writes the user's ~/.gitconfig (outside the repository): denied.
"""

from __future__ import annotations

import fnmatch
import shlex
from dataclasses import replace
from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import DENY, UNSURE, Call, handles
from hrmcli.tools.shellwords import Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge

# config keys whose value is a command line git runs through the shell
CMD_KEYS = (
    "core.pager", "core.editor", "core.sshcommand", "core.askpass", "core.fsmonitor",
    "core.gitproxy", "core.alternaterefscommand", "credential.helper", "credential.*.helper",
    "diff.external", "diff.*.textconv", "diff.*.command", "merge.*.driver", "filter.*.clean",
    "filter.*.smudge", "filter.*.process", "pager.*", "sequence.editor", "gpg.program",
    "gpg.*.program", "uploadpack.packobjectshook", "remote.*.uploadpack",
    "remote.*.receivepack", "interactive.difffilter", "sendemail.*", "web.browser",
    "browser.*.cmd", "browser.*.path", "man.*.cmd", "man.*.path", "difftool.*.cmd",
    "difftool.*.path", "mergetool.*.cmd", "mergetool.*.path", "core.hookspath",
    "receive.procreceiverefs", "ssh.variant", "http.proxy", "*.command",
)
# keys that point git at other files (config, hooks, a work tree): not judged
PATH_KEYS = ("include.path", "includeif.*", "core.hookspath", "core.worktree",
             "core.excludesfile", "init.templatedir", "protocol.*.allow", "protocol.allow",
             "url.*.insteadof", "url.*.pushinsteadof", "core.sharedrepository",
             "safe.directory", "core.attributesfile", "blame.ignorerevsfile")
NEVER_PUSH = "hrm never pushes: `{what}` sends commits to a remote; review them and push yourself"
# What git runs as a subcommand without an alias: its own commands (git --list-cmds=main)
# and the common add-ons. Anything else is an alias or a git-NAME program on PATH.
GIT_COMMANDS = frozenset("""
add am annotate apply archive bisect blame branch bugreport bundle cat-file check-attr
check-ignore check-mailmap check-ref-format checkout checkout-index cherry cherry-pick clean
clone column commit commit-graph commit-tree config count-objects credential
credential-cache credential-store daemon describe diagnose diff diff-files diff-index
diff-tree difftool fast-export fast-import fetch fetch-pack filter-branch fmt-merge-msg
for-each-ref for-each-repo format-patch fsck fsck-objects gc get-tar-commit-id grep
hash-object help hook http-backend http-fetch http-push imap-send index-pack init init-db
instaweb interpret-trailers log ls-files ls-remote ls-tree mailinfo mailsplit maintenance
merge merge-base merge-file merge-index merge-octopus merge-one-file merge-ours
merge-recursive merge-resolve merge-subtree merge-tree mergetool mktag mktree
multi-pack-index mv name-rev notes pack-objects pack-redundant pack-refs patch-id prune
prune-packed pull push quiltimport range-diff read-tree rebase receive-pack reflog remote
repack replace request-pull rerere reset restore rev-list rev-parse revert rm send-pack
shortlog show show-branch show-index show-ref sparse-checkout stage stash status
stripspace submodule subtree switch symbolic-ref tag unpack-file unpack-objects
update-index update-ref update-server-info upload-archive upload-pack var verify-commit
verify-pack verify-tag version whatchanged worktree write-tree lfs svn
""".split())
_BOOLISH = {"true", "false", "yes", "no", "on", "off", "1", "0", "", "always", "never", "auto"}
_READ_CONFIG = {"--get", "--get-all", "--get-regexp", "--get-urlmatch", "--list", "-l",
                "--show-origin", "--show-scope", "--name-only", "--get-color",
                "--get-colorbool", "get", "list"}


def _key_matches(key: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def judge_config_value(j: Judge, c: Call, key: str, value: str | None, where: str) -> None:
    """A config key set for one command (`-c`) or stored (`git config`)."""
    key = key.lower()
    if key.startswith("alias."):
        if value is None:
            j.note(UNSURE, f"{where} {key} only known at run time")
        elif value.startswith("!"):
            j.run_string(value[1:], c.state.copy(), f"{where} {key}")
        return
    if _key_matches(key, ("remote.*.mirror",)) and (value or "").lower() in ("true", "1", "yes"):
        j.note(DENY, f"{where} {key}: every push mirrors (a force push)")
    if _key_matches(key, ("remote.*.push",)) and (value or "").startswith(("+", ":")):
        j.note(DENY, f"{where} {key}={value}: pushes by force or deletes")
    if _key_matches(key, CMD_KEYS):
        if value is None:
            j.note(UNSURE, f"{where} {key} names a program only known at run time")
        elif key.startswith("pager.") and value.lower() in _BOOLISH:
            return
        elif key == "core.fsmonitor" and value.lower() in _BOOLISH:
            return
        elif key in ("core.hookspath",):
            j.note(UNSURE, f"{where} core.hooksPath runs hooks from {value}")
        else:
            text = value[1:] if value.startswith("!") else value
            j.run_string(text, c.state.copy(), f"{where} {key}")
    elif _key_matches(key, PATH_KEYS):
        j.note(UNSURE, f"{where} {key} points git at other files or transports")


def _split_global(j: Judge, c: Call) -> tuple[int, dict[str, str], str | None]:
    """Skip git's global options; returns the subcommand index, -c aliases, and a folder
    outside the repository that git was pointed at (-C, --git-dir, --work-tree)."""
    args = c.argv
    aliases: dict[str, str] = {}
    outside: str | None = None
    i = 1
    state = c.state
    while i < len(args):
        t = args[i].text
        if t is None:
            j.note(UNSURE, "`git` with options only known at run time")
            return len(args), aliases, outside
        if not t.startswith("-"):
            break
        name, eq, val = t.partition("=")
        if t in ("-c", "-C", "--git-dir", "--work-tree", "--namespace", "--config-env",
                 "--exec-path", "--super-prefix", "--list-cmds", "--attr-source") and not eq:
            nxt = args[i + 1] if i + 1 < len(args) else Value(None)
            i += 2 if t != "--exec-path" else 1
            if t == "--exec-path":
                continue
            val, name = nxt.text, t  # type: ignore[assignment]
            if val is None:
                j.note(UNSURE, f"`git {t}` only known at run time")
                continue
        else:
            i += 1
            if t.startswith("-c") and len(t) > 2 and not t.startswith("--"):
                name, val = "-c", t[2:]
            elif t.startswith("-C") and len(t) > 2:
                name, val = "-C", t[2:]
        if name == "-c":
            key, has_val, value = val.partition("=")
            if key.lower().startswith("alias.") and not value.startswith("!"):
                aliases[key[6:].lower()] = value
            judge_config_value(j, c, key, value if has_val else "true", "git -c")
        elif name == "--config-env":
            key = val.partition("=")[0]
            judge_config_value(j, c, key, None, "git --config-env")
        elif name == "--exec-path" and eq:
            j.note(UNSURE, "`git --exec-path=DIR` runs git commands from another folder")
        elif name in ("-C", "--git-dir", "--work-tree"):
            if name == "-C":
                state = state.copy()
                state.cwd = j.paths.real(val, state.cwd)
                c.state = state
            real = j.paths.real(val, state.cwd)
            if real is None or not j.paths.inside(real):
                outside = real or val
    return i, aliases, outside


_WRITES_REPO = {"commit", "merge", "pull", "reset", "checkout", "switch", "restore", "rebase",
                "cherry-pick", "revert", "stash", "clean", "tag", "am", "apply", "rm", "mv",
                "add", "fetch", "init", "branch", "gc", "prune", "update-ref", "update-index",
                "notes", "worktree", "submodule", "config", "push", "filter-branch", "replace",
                "read-tree", "checkout-index", "symbolic-ref", "hash-object", "mktree"}


@handles("git")
def _git(j: Judge, c: Call) -> list[str] | None:
    i, aliases, outside = _split_global(j, c)
    rest = list(c.argv[i:])
    if not rest:
        return ["git"]
    sub = rest[0].text
    if sub is None:
        j.note(UNSURE, "`git` subcommand only known at run time")
        return None
    seen: set[str] = set()
    # git runs its own command before an alias of the same name, and aliases may chain
    while sub not in GIT_COMMANDS and sub.lower() in aliases and sub.lower() not in seen:
        seen.add(sub.lower())
        try:
            words = shlex.split(aliases[sub.lower()])
        except ValueError:
            j.note(UNSURE, f"git alias {sub} cannot be read")
            return None
        rest = [Value.literal(w) for w in words] + rest[1:]
        sub = (rest[0].text if rest else "") or ""
    if sub not in GIT_COMMANDS:
        j.note(UNSURE, f"`git {sub}` is not a git command: an alias from a config file or a "
                       f"git-{sub} program, which hrm cannot judge")
    args = rest[1:]
    texts = [v.text or "" for v in args]
    if outside and sub in _WRITES_REPO:
        j.note(DENY, f"`git {sub}` would change the repository at {outside}, outside this one")
    handler = _SUBCOMMANDS.get(sub or "")
    if handler is not None:
        handler(j, c, args, texts)
    for k, t in enumerate(texts):  # diff options that write a file, on any subcommand
        name, eq, val = t.partition("=")
        if name in ("--output", "--output-directory") or (name == "-o" and sub in (
                "format-patch", "archive")):
            target = val if eq else (texts[k + 1] if k + 1 < len(texts) else "")
            j.write(Value(target, target), c.state, f"`git {sub} {name}`", c.edits)
        if name in ("--upload-pack", "--receive-pack", "--exec") or (
                name == "-u" and sub in ("clone", "fetch", "ls-remote", "archive")):
            j.note(UNSURE, f"`git {sub} {name}` names a program git runs")
        if t.startswith(("ext::", "fd::")):
            j.note(UNSURE, f"`git {sub}` with a transport that runs commands ({t[:20]})")
        if name in ("--template", "--separate-git-dir") and sub in ("init", "clone"):
            j.note(UNSURE, f"`git {sub} {name}` takes hooks or the .git from elsewhere")
    if sub == "config":
        words = [t for t in texts if not t.startswith("-")]
        if any(t in _READ_CONFIG for t in texts) or (len(words) == 1 and not any(
                t in ("--unset", "--unset-all", "--add", "--replace-all", "--edit", "-e",
                      "--rename-section", "--remove-section") for t in texts)):
            return ["git", "config", "--get"]
    return ["git", sub or "", *[v.shown for v in args]]


def _never(what: str, when: tuple[str, ...] = ()):  # noqa: ANN202 - a subcommand judge
    """A subcommand that pushes: always, or when one of `when` is among its arguments."""
    def judge(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
        if not when or set(when) & set(texts):
            j.note(DENY, NEVER_PUSH.format(what=what))
    return judge


@handles(pattern=r"git-[a-z][a-z0-9-]*")
def _git_dashed(j: Judge, c: Call) -> list[str] | None:
    """`git-push ARGS` (git's own programs, as in its exec path) is `git push ARGS`."""
    sub = c.base.removeprefix("git-")
    return _git(j, replace(c, argv=[Value.literal("git"), Value.literal(sub), *c.argv[1:]]))


def _push(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    ops: list[str] = []
    k = 0
    while k < len(texts):
        t = texts[k]
        name = t.split("=", 1)[0]
        if name in ("--force", "--force-with-lease", "--force-if-includes", "--mirror",
                    "--delete", "--prune"):
            j.note(DENY, f"`git push {name}` rewrites or deletes history on the remote")
        elif t.startswith("-") and not t.startswith("--") and set(t[1:]) & {"f", "d"}:
            j.note(DENY, f"`git push {t}` forces or deletes on the remote")
        elif name in ("-o", "--push-option", "--repo", "--receive-pack", "--exec") and "=" not \
                in t:
            k += 1
        elif not t.startswith("-"):
            ops.append(t)
        k += 1
    if any(v.text is None for v in args):
        j.note(UNSURE, "`git push` with arguments only known at run time")
    for ref in ops[1:]:
        if ref.startswith("+"):
            j.note(DENY, f"`git push {ref}`: a + refspec is a force push")
        elif ref.startswith(":") or ref.endswith(":") and ":" in ref:
            j.note(DENY, f"`git push {ref}` deletes a remote branch")
    j.note(DENY, NEVER_PUSH.format(what="git push"))  # after the force notes: those say more


def _config(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    if any(t in _READ_CONFIG for t in texts) or len([t for t in texts
                                                     if not t.startswith("-")]) == 1:
        if any(t in ("--global", "--system") for t in texts) and not any(
                t in _READ_CONFIG for t in texts) and any(t.startswith("--unset") for t in texts):
            j.note(DENY, "`git config --global --unset` changes the user's git config")
        return
    if any(t in ("--global", "--system") for t in texts):
        j.note(DENY, "`git config --global/--system` changes the user's or machine's git "
                     "config, outside the repository")
        return
    for k, t in enumerate(texts):
        if t in ("-f", "--file", "--blob") and k + 1 < len(texts):
            j.write(args[k + 1], c.state, "`git config --file`", c.edits)
        elif t.startswith("--file="):
            v = t.split("=", 1)[1]
            j.write(Value(v, v), c.state, "`git config --file`", c.edits)
    words = [t for t in texts if not t.startswith("-")]
    if words and words[0] in ("set", "unset", "edit", "rename-section", "remove-section"):
        words = words[1:]
    if len(words) >= 2:
        judge_config_value(j, c, words[0], words[1], "git config")
        if _key_matches(words[0].lower(), CMD_KEYS + PATH_KEYS + ("alias.*",)):
            j.note(UNSURE, f"`git config {words[0]}` stores a program git runs later")
    elif "--edit" in texts or "-e" in texts:
        j.note(UNSURE, "`git config --edit` opens an editor on the config")


def _runs_string(flag_names: tuple[str, ...]):  # noqa: ANN202 - returns a subcommand judge
    def judge(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
        for k, t in enumerate(texts):
            name, eq, val = t.partition("=")
            if name in flag_names:
                cmd = val if eq else (texts[k + 1] if k + 1 < len(texts) else "")
                if k + 1 < len(args) and not eq and args[k + 1].text is None:
                    j.note(UNSURE, f"`git {name}` runs a command only known at run time")
                else:
                    j.run_string(cmd, c.state.copy(), f"git {name}")
    return judge


def _bisect(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    if texts[:1] == ["run"] and len(args) > 1:
        with j.inside("git bisect run"):
            j.run_argv(args[1:], c.state.copy(), None)


def _clone(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    ops = [v for v, t in zip(args, texts, strict=True) if not t.startswith("-")]
    for k, t in enumerate(texts):
        if t in ("-c", "--config") and k + 1 < len(texts):
            key, _, value = texts[k + 1].partition("=")
            judge_config_value(j, c, key, value, "git clone -c")
    if len(ops) >= 2:
        j.write(ops[1], c.state, "`git clone`", c.edits)
    else:
        j.write(Value(".", "."), c.state, "`git clone` (into the current folder)", c.edits)


def _paths_written(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    """init DIR, worktree add PATH, bundle create FILE, submodule add URL PATH."""
    ops = [v for v, t in zip(args, texts, strict=True) if not t.startswith("-")]
    if ops and ops[0].text in ("add", "create"):
        ops = ops[1:]
        if texts and texts[0] == "add" and len(ops) >= 2 and ":" in (ops[0].text or ""):
            ops = ops[1:]  # submodule add URL PATH
    for v in ops[:1]:
        j.write(v, c.state, "`git`", c.edits)
    if texts[:1] == ["foreach"]:
        cmd = [t for t in texts[1:] if not t.startswith("-")]
        if cmd:
            j.run_string(" ".join(cmd), c.state.copy(), "git submodule foreach")


def _apply(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    if "--unsafe-paths" in texts:
        j.note(DENY, "`git apply --unsafe-paths` writes outside the repository")


def _credential(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    j.note(UNSURE, "`git credential` reads or stores credentials")


def _filter_branch(j: Judge, c: Call, args: list[Value], texts: list[str]) -> None:
    j.note(UNSURE, "`git filter-branch` runs filter commands over the whole history")


_SUBCOMMANDS = {
    "push": _push, "send-pack": _never("git send-pack"), "http-push": _never("git http-push"),
    "subtree": _never("git subtree push", ("push",)), "lfs": _never("git lfs push", ("push",)),
    "svn": _never("git svn dcommit", ("dcommit", "set-tree")), "config": _config, "bisect": _bisect, "clone": _clone,
    "init": _paths_written, "worktree": _paths_written, "bundle": _paths_written,
    "submodule": _paths_written, "apply": _apply, "credential": _credential,
    "credential-store": _credential, "credential-cache": _credential,
    "filter-branch": _filter_branch,
    "rebase": _runs_string(("-x", "--exec")),
    "difftool": _runs_string(("-x", "--extcmd")),
    "grep": _runs_string(("-O", "--open-files-in-pager")),
}
