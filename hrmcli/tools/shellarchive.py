"""Archives and patches: the files they write are named inside them or by options.

`tar -x -C /` and `unzip -d /tmp` write outside the repository; `tar --to-command`, its
checkpoint actions and `zip -TT` run commands; `patch` writes the files its diff names, so the
diff is read (from -i or standard input) and each name checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import DENY, UNSURE, Call, handles, parse_opts
from hrmcli.tools.shellfiles import F, _opts, _reads, _writes
from hrmcli.tools.shellwords import Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge


def _patch_targets(text: str, strip: int | None) -> list[str]:
    """The files a unified or context diff names (`+++ b/x`, `--- a/x`), with -pN applied."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith(("+++ ", "--- ", "*** ")) and not line.startswith("****"):
            name = line[4:].split("\t", 1)[0].strip()
            if name == "/dev/null" or not name:
                continue
            if strip:
                name = "/".join(name.split("/")[strip:]) or name
            out.append(name)
        elif line.startswith(("rename to ", "copy to ")):
            out.append(line.split(" to ", 1)[1].strip())
    return out


@handles("patch")
def _patch(j: Judge, c: Call) -> list[str] | None:
    """patch writes the files its diff names: read from -i FILE or standard input."""
    opts = _opts(c, "bcefElnNRstuvZ", "BdDFgiopPrVxYzM",
                 lwith={"--input", "--output", "--strip", "--directory", "--reject-file",
                        "--prefix", "--suffix", "--basename-prefix", "--backup-if-mismatch"})
    _writes(j, c, opts.values("-o", "--output", "-r", "--reject-file"))
    strip_vals = opts.values("-p", "--strip")
    strip = int(strip_vals[-1].text) if strip_vals and (strip_vals[-1].text or "").isdigit() \
        else None
    state = c.state.copy()
    for d in opts.values("-d", "--directory"):
        state.cwd = j.paths.real(d.text, state.cwd) if d.text is not None else None
    text: str | None = None
    inputs = opts.values("-i", "--input") or opts.operands[1:2]
    if inputs:
        j.read(inputs[-1], c.state, "`patch -i`")
        real = j.paths.real(inputs[-1].text, c.state.cwd) if inputs[-1].text else None
        try:
            with open(real or "", encoding="utf-8", errors="replace") as f:
                text = f.read(4_000_000)
        except OSError:
            text = None
    elif c.stdin is not None:
        text = c.stdin.text
        if c.stdin.kind == "file" and c.stdin.path is not None and c.stdin.path.text:
            try:
                real = j.paths.real(c.stdin.path.text, c.state.cwd) or ""
                with open(real, encoding="utf-8", errors="replace") as f:
                    text = f.read(4_000_000)
            except OSError:
                text = None
    if opts.operands[:1]:
        _writes(j, c, opts.operands[:1])
    elif text is None:
        j.note(UNSURE, "`patch` applies a diff only known at run time (it names the files "
                       "it writes)")
    else:
        for name in _patch_targets(text, strip):
            j.write(Value(name, name), state, "`patch`", c.edits)
    return ["patch"]


_TAR_LONG_ARG = F({
    "--file", "--directory", "--to-command", "--use-compress-program", "--files-from",
    "--exclude-from", "--newer", "--after-date", "--info-script", "--new-volume-script",
    "--rsh-command", "--checkpoint-action", "--index-file", "--listed-incremental",
    "--transform", "--xform", "--owner", "--group", "--mode", "--label", "--format",
    "--exclude", "--blocking-factor", "--record-size", "--tape-length", "--volno-file",
})


@handles("tar", "gtar", "bsdtar")
def _tar(j: Judge, c: Call) -> list[str] | None:
    """tar -c writes the archive and reads the members (recursively); -x writes into the
    folder (-C) or the current one; --to-command and checkpoint actions run commands."""
    argv = list(c.argv)
    if len(argv) > 1 and argv[1].text and not argv[1].text.startswith("-"):
        argv[1] = Value("-" + argv[1].text, argv[1].raw)  # old style: tar czf x.tgz dir
    fake = Call(argv, c.state, c.stdin, c.edits)
    opts = parse_opts(argv, 1, "AcdrtuxzjJZaBGhiklmMOpPsSvwW", "bCfFgKLNTVX", any_option=True,
                      stop_at_operand=False,
                      long_with_arg=_TAR_LONG_ARG)
    for name in ("--to-command", "--use-compress-program", "-I", "--info-script", "-F",
                 "--new-volume-script", "--rsh-command", "--checkpoint-action"):
        for v in opts.values(name):
            if v.text is None or name == "--checkpoint-action" and "exec" not in v.text:
                if v.text is None:
                    j.note(UNSURE, f"`tar {name}` only known at run time")
                continue
            text = v.text.split("exec=", 1)[1] if name == "--checkpoint-action" else v.text
            j.run_string(text, c.state.copy(), f"tar {name}")
    archives = opts.values("-f", "--file")
    state = c.state.copy()
    for d in opts.values("-C", "--directory"):
        state.cwd = j.paths.real(d.text, state.cwd) if d.text is not None else None
    creating = opts.has("-c", "--create", "-r", "--append", "-u", "--update", "-A")
    extracting = opts.has("-x", "--extract", "--get")
    if creating:
        _writes(j, fake, [a for a in archives if a.text != "-"])
        c.recursive = True
        for v in opts.operands:
            j.read(v, state, "`tar`", recursive=True)
        _reads(j, c, opts.values("-T", "--files-from"))
    elif extracting:
        _reads(j, c, [a for a in archives if a.text != "-"])
        if opts.has("-P", "--absolute-names"):
            j.note(DENY, "`tar -x --absolute-names` writes wherever the archive says")
        if opts.has("-O", "--to-stdout"):
            return ["cat"]
        if state.cwd is None:
            j.note(UNSURE, "`tar -x` into a folder only known at run time")
        else:
            j.write(Value(state.cwd, "."), state, "`tar -x`", c.edits)
    else:
        _reads(j, c, [a for a in archives if a.text != "-"])
        return ["cat"]
    return ["tar"]


@handles("zip", "unzip", "7z", "7za", "7zr", "jar", "ar", "cpio", "unrar", "rar")
def _archive(j: Judge, c: Call) -> list[str] | None:
    texts = [v.text or "" for v in c.args]
    if c.base == "unzip":
        opts = _opts(c, "cfflnopqtuvzjCKLMNosTUVWX", "dxZ", lwith=set())
        if opts.has("-:"):
            j.note(DENY, "`unzip -:` writes wherever the archive says (../ kept)")
        if opts.has("-l", "-t", "-v", "-p", "-c", "-Z", "-z"):
            return ["cat"]
        _reads(j, c, opts.operands[:1])
        dest = opts.values("-d") or [Value(c.state.cwd, ".")]
        _writes(j, c, dest)
        return ["unzip"]
    if c.base == "zip":
        for k, t in enumerate(texts):
            if t in ("-TT", "--unzip-command") and k + 1 < len(texts):
                j.run_string(texts[k + 1], c.state.copy(), "zip -TT")
        opts = _opts(c, "0123456789AcdDeFfgjJklLmoqrRSTuvwXyz$@", "bintxOQsPZ", lwith=set())
        ops = [v for v in opts.operands if v.text not in ("-TT",)]
        _writes(j, c, ops[:1] + opts.values("-O", "--output-file"))
        c.recursive = opts.has("-r", "-R")
        _reads(j, c, ops[1:], recursive=c.recursive)
        if opts.has("-m"):
            _writes(j, c, ops[1:], remove=True)
        return ["zip"]
    if c.base.startswith("7z") and texts and texts[0] in ("x", "e"):
        outs = [t[2:] for t in texts if t.startswith("-o")] or [c.state.cwd or "."]
        _writes(j, c, [Value(o, o) for o in outs])
        return ["zip"]
    if c.base.startswith("7z") and texts and texts[0] in ("a", "u", "d", "rn"):
        ops = [v for v in c.args[1:] if not (v.text or "").startswith("-")]
        _writes(j, c, ops[:1])
        _reads(j, c, ops[1:], recursive=True)
        return ["zip"]
    return c.texts()
