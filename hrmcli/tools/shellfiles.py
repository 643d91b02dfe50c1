"""Commands that write or read files: which of their arguments are those files.

`cp a.txt ~/.bashrc` writes its last operand, `sort -o FILE` and `git diff --output=FILE`
write an option's value, `ln -s /etc/passwd x` makes a way out of the repository, `dd
of=/dev/sda` writes a disk. Each handler finds the written files (checked against the
repository root: outside it is denied) and the read ones (a secret location asks; a path only
known at run time is UNSURE), with the command's real option grammar.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import ASK, DENY, UNSURE, Call, Opts, handles, parse_opts
from hrmcli.tools.shellwords import Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge

F = frozenset


def _opts(c: Call, flags: str, with_arg: str, lflags: set[str] | frozenset[str] = F(),
          lwith: set[str] | frozenset[str] = F()) -> Opts:
    """GNU-style options anywhere among the operands (the tools permute them)."""
    opts = parse_opts(c.argv, 1, flags, with_arg, lflags, lwith, any_option=True,
                      stop_at_operand=False)
    return opts


def _reads(j: Judge, c: Call, values: list[Value], recursive: bool = False) -> None:
    for v in values:
        j.read(v, c.state, f"`{c.base}`", recursive=recursive)


def _writes(j: Judge, c: Call, values: list[Value], remove: bool = False) -> None:
    for v in values:
        j.write(v, c.state, f"`{c.base}`", c.edits, remove=remove)


def _copy_like(j: Judge, c: Call, opts: Opts, moves: bool) -> None:
    """cp/mv/install: sources then a destination (or -t DIR)."""
    ops = opts.operands
    targets = opts.values("-t", "--target-directory")
    dest = targets[-1] if targets else (ops[-1] if len(ops) >= 2 else None)
    sources = ops if targets else ops[:-1]
    recursive = opts.has("-r", "-R", "-a", "--recursive", "--archive") or moves
    c.recursive = c.recursive or recursive
    _reads(j, c, sources, recursive=recursive)
    if moves:
        _writes(j, c, sources, remove=True)
    if dest is not None:
        j.write(dest, c.state, f"`{c.base}`", c.edits)
    if opts.has("-s", "--symbolic-link", "-l", "--link"):
        for s in sources:
            _link_target(j, c, s, dest, symbolic=opts.has("-s", "--symbolic-link"))


@handles("cp", "gcp")
def _cp(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "abdfHilLnPpRrsTuvxZ", "St", lwith={"--target-directory", "--suffix"})
    _copy_like(j, c, opts, moves=False)
    return c.texts()


@handles("mv", "gmv")
def _mv(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "bfinTuvZ", "St", lwith={"--target-directory", "--suffix"})
    _copy_like(j, c, opts, moves=True)
    return c.texts()


@handles("install", "ginstall")
def _install(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "bcCdDpsvTZ", "gmoSt", lwith={"--target-directory", "--suffix", "--mode",
                                                 "--owner", "--group", "--strip-program"})
    for v in opts.values("--strip-program"):
        if v.text is not None:
            j.run_string(v.text, c.state.copy(), "install --strip-program")
    if opts.has("-d", "--directory"):
        _writes(j, c, opts.operands)
    else:
        _copy_like(j, c, opts, moves=False)
    return ["install"]


def _link_target(j: Judge, c: Call, target: Value, link: Value | None, symbolic: bool) -> None:
    """A link to something outside the repository is a door out of it: later writes through
    the link land outside. Relative symlink targets are resolved from the link's folder."""
    if target.text is None:
        j.note(UNSURE, f"`{c.base}` links to {target.raw!r}, only known at run time")
        return
    base_dir = c.state.cwd
    if symbolic and not os.path.isabs(target.text) and link is not None and link.text:
        link_real = j.paths.real(link.text, c.state.cwd)
        if link_real is not None:
            base_dir = link_real if os.path.isdir(link_real) else os.path.dirname(link_real)
    real = j.paths.real(target.text, base_dir)
    if real is None:
        j.note(UNSURE, f"`{c.base}` links to {target.text!r} from a folder only known later")
    elif not j.paths.inside(real):
        j.note(DENY, f"`{c.base}` makes a link to {real}, outside the repository "
                     "(writes through it would land there)")


@handles("ln", "gln", "link")
def _ln(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "bdfFinLPrsTv", "St", lwith={"--target-directory", "--suffix"})
    ops = opts.operands
    symbolic = opts.has("-s", "--symbolic")
    dirs = opts.values("-t", "--target-directory")
    if dirs:
        pairs = [(t, dirs[-1]) for t in ops]
    elif len(ops) == 1:
        name = os.path.basename((ops[0].text or "").rstrip("/")) or None
        pairs = [(ops[0], Value(name, name or "") if name else Value(None, ops[0].raw))]
    else:
        pairs = [(t, ops[-1]) for t in ops[:-1]]
    for target, link in pairs:
        j.write(link, c.state, f"`{c.base}`", c.edits)
        _link_target(j, c, target, link, symbolic)
    return ["ln"]


@handles("tee")
def _tee(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "aip", "", lflags={"--append", "--ignore-interrupts", "--output-error"})
    _writes(j, c, opts.operands)
    return ["tee"]


@handles("touch", "mkdir", "mkfifo", "truncate")
def _create(j: Judge, c: Call) -> list[str] | None:
    c.reads_args = False
    with_arg = {"touch": "drt", "mkdir": "m", "mkfifo": "m", "truncate": "rs"}[c.kind or c.base]
    lwith = {"--date", "--reference", "--time", "--mode", "--size", "--context"}
    opts = _opts(c, "acfhmpvcoZ", with_arg, lwith=lwith)
    _reads(j, c, opts.values("-r", "--reference"))
    _writes(j, c, opts.operands)
    return [c.base]


@handles("mknod")
def _mknod(j: Judge, c: Call) -> list[str] | None:
    c.reads_args = False
    opts = _opts(c, "Z", "m", lwith={"--mode", "--context"})
    _writes(j, c, opts.operands[:1])
    return ["mknod"]


@handles("rm", "grm", "unlink", "rmdir", "shred", "srm", "trash", "trash-put", "gio")
def _remove(j: Judge, c: Call) -> list[str] | None:
    """Deleting: outside the repository, the repository itself or its .git is denied."""
    c.reads_args = False
    if c.base == "gio" and (not c.args or c.args[0].text not in ("trash", "remove", "move",
                                                                   "copy", "save", "mkdir")):
        return c.texts()
    start_ops = 1 if c.base == "gio" else 0
    opts = _opts(c, "dfiIrRvpuxz", "ns", lwith={"--interactive", "--preserve-root",
                                                "--iterations", "--size", "--random-source",
                                                "--remove"})
    if opts.has("--no-preserve-root"):
        j.note(DENY, f"`{c.base} --no-preserve-root`")
    _writes(j, c, opts.operands[start_ops:], remove=True)
    return ["rm"] if c.base != "rmdir" else ["rmdir"]


@handles("chmod", "chown", "chgrp", "chattr", "setfacl", "chcon", "setfattr")
def _chmod(j: Judge, c: Call) -> list[str] | None:
    """The first operand is a mode or owner (modes such as `-x` look like options)."""
    c.reads_args = False
    argv = [v for v in c.argv]
    args = argv[1:]
    mode_like = [k for k, v in enumerate(args) if v.text is not None and len(v.text) > 1 and
                 v.text[0] in "-+=" and set(v.text[1:]) <= set("rwxXstugoa,+-=0123456789")]
    if c.base in ("chmod", "chattr") and mode_like:
        args = args[:mode_like[0]] + [Value("MODE", "MODE")] + args[mode_like[0] + 1:]
    if c.base == "chmod":
        for v in c.args:
            t = v.text or ""
            if ("+" in t or "=" in t) and "s" in t.split("+")[-1].split("=")[-1] or (
                    t.isdigit() and len(t) == 4 and t[0] in "234567"):
                j.note(DENY, f"`chmod {t}` sets the setuid or setgid bit")
    fake = Call([argv[0], *args], c.state, c.stdin, c.edits)
    opts = _opts(fake, "cfvRhHLPRV", "", lwith={"--reference", "--from"})
    refs = opts.values("--reference")
    files = opts.operands if refs or c.base in ("setfacl", "setfattr") else opts.operands[1:]
    if c.base in ("setfacl", "setfattr"):
        files = [v for v in files if not (v.text or "").startswith(("u:", "g:", "o:", "m:"))]
    _writes(j, c, files)
    return [c.base if c.base in ("chmod", "chown", "chgrp") else "chmod"]


@handles("dd")
def _dd(j: Judge, c: Call) -> list[str] | None:
    for v in c.args:
        t = v.text
        if t is None:
            j.note(UNSURE, "`dd` with an operand only known at run time")
            continue
        key, eq, val = t.partition("=")
        if key == "of":
            j.write(Value(val, val), c.state, "`dd of=`", c.edits)
        elif key == "if":
            j.read(Value(val, val), c.state, "`dd if=`")
    return ["dd"]


@handles("sort")
def _sort(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "bcCdfghiMmnRrsuVz", "kotTSy",
                 lwith={"--key", "--output", "--field-separator", "--temporary-directory",
                        "--buffer-size", "--batch-size", "--compress-program",
                        "--files0-from", "--random-source", "--parallel", "--sort"})
    _writes(j, c, opts.values("-o", "--output"))
    for d in opts.values("-T", "--temporary-directory"):
        j.write(d, c.state, "`sort -T`", None)
    for prog in opts.values("--compress-program"):
        if prog.text is None:
            j.note(UNSURE, "`sort --compress-program` only known at run time")
        else:
            j.run_argv([prog], c.state.copy(), None)
    _reads(j, c, opts.operands + opts.values("--files0-from", "--random-source"))
    return ["sort"]


@handles("uniq")
def _uniq(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "cdDiuz", "fsw", lwith={"--skip-fields", "--skip-chars", "--check-chars",
                                            "--all-repeated", "--group"})
    _reads(j, c, opts.operands[:1])
    _writes(j, c, opts.operands[1:2])
    return ["uniq"]


@handles("split", "csplit")
def _split(j: Judge, c: Call) -> list[str] | None:
    if c.base == "split":
        opts = _opts(c, "dxeuv", "abClnt", lwith={"--suffix-length", "--bytes",
                                                  "--line-bytes", "--lines", "--number",
                                                  "--separator", "--additional-suffix",
                                                  "--filter", "--numeric-suffixes",
                                                  "--hex-suffixes"})
        for f in opts.values("--filter"):
            if f.text is None:
                j.note(UNSURE, "`split --filter` only known at run time")
            else:
                j.run_string(f.text, c.state.copy(), "split --filter")
        ops = opts.operands
        _reads(j, c, ops[:1])
        prefix = ops[1] if len(ops) > 1 else Value.literal("x")
    else:
        opts = _opts(c, "kszq", "fbn", lwith={"--prefix", "--suffix-format", "--digits"})
        _reads(j, c, opts.operands[:1])
        prefix = (opts.values("-f", "--prefix") or [Value.literal("xx")])[-1]
    if prefix.text is not None:
        prefix = Value(prefix.text + "aa", prefix.raw)
    j.write(prefix, c.state, f"`{c.base}`", c.edits)
    return ["split"]


@handles("gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat", "xz", "unxz", "xzcat",
         "lzma", "unlzma", "zstd", "unzstd", "zstdcat", "lz4", "unlz4", "lz4cat", "brotli",
         "pigz", "unpigz", "pbzip2", "lzip", "compress", "uncompress")
def _compress(j: Judge, c: Call) -> list[str] | None:
    """Without -c they replace each file by its (de)compressed version."""
    opts = _opts(c, "cdfhklLnNqrtvV123456789zZ", "So", lwith={"--suffix", "--output"})
    to_stdout = c.base.endswith("cat") or opts.has("-c", "--stdout", "--to-stdout", "-t",
                                                    "--test", "-l", "--list")
    _reads(j, c, opts.operands, recursive=opts.has("-r", "--recursive"))
    outs = opts.values("-o", "--output") if c.base.startswith(("zstd", "unzstd", "lz4")) else []
    _writes(j, c, outs)
    if not to_stdout and not outs:
        _writes(j, c, opts.operands, remove=True)
    return ["gzip"] if not to_stdout else ["cat"]


_READERS = (
    "cat", "tac", "head", "tail", "nl", "od", "xxd", "hexdump", "hd", "strings", "base64",
    "base32", "basenc", "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum",
    "sha512sum", "b2sum", "cksum", "sum", "wc", "file", "cut", "paste",
    "column", "fold", "fmt", "expand", "unexpand", "comm", "join", "diff", "cmp", "diff3",
    "sdiff", "jq", "yq", "iconv", "rev", "look", "pr", "ptx", "tsort", "shuf",
    "bat", "batcat", "xmllint", "zless", "zmore",
    "bzless", "xzless", "colordiff", "wdiff", "numfmt", "tr", "zdiff", "zgrep", "dos2unix",
    "unix2dos",
)


@handles(*_READERS)
def _reader(j: Judge, c: Call) -> list[str] | None:
    """Plain readers: every operand is a file (one only known at run time is UNSURE)."""
    with_arg = {"head": "nc", "tail": "ncs", "cut": "bcdf", "paste": "d", "column": "stcoNR",
                "fold": "w", "fmt": "wpg", "od": "AjNstw", "xxd": "cglos", "jq": "",
                "yq": "", "iconv": "fto", "join": "eijot12", "shuf": "nio", "numfmt": "",
                "diff": "CUFIxSLX", "hexdump": "nesf", "nl": "bdfhilnsvw", "pr": "dehilNnosw"
                }.get(c.base, "")
    opts = _opts(c, "", with_arg, lwith={"--lines", "--bytes", "--delimiter", "--fields",
                                         "--characters", "--width", "--from-code",
                                         "--to-code", "--output", "--arg", "--argjson",
                                         "--slurpfile", "--rawfile", "--label"})
    ops = opts.operands
    if c.base in ("jq", "yq") and ops:
        ops = ops[1:]  # the filter
    if c.base == "tr":
        ops = []  # only standard input
    if c.base in ("dos2unix", "unix2dos") and not opts.has("-n", "--newfile"):
        _writes(j, c, ops)
    for v in opts.values("--slurpfile", "--rawfile"):
        j.read(v, c.state, f"`{c.base}`")
    _writes(j, c, opts.values("-o", "--output") if c.base in ("iconv", "shuf") else [])
    _reads(j, c, [v for v in ops if v.text != "-"])
    return ["cat"] if c.base not in ("dos2unix", "unix2dos") else ["sed", "-i"]


def _sed_script_files(script: str) -> tuple[list[str], list[str], bool]:
    """Files a sed script writes (`w FILE`, `s///w FILE`) and reads (`r`/`R FILE`), and
    whether it runs commands (GNU `e`, `s///e`). Commands are split at `;`, newlines and
    braces; what cannot be followed counts as running commands."""
    writes: list[str] = []
    reads: list[str] = []
    i, n = 0, len(script)
    while i < n:
        while i < n and script[i] in " \t\n;{}!":
            i += 1
        # an address: numbers, $, /regex/, \cREGEXc, ranges, steps
        while i < n and (script[i].isdigit() or script[i] in "$,~+" or script[i] in "/\\"):
            if script[i] in "/\\":
                delim = script[i + 1] if script[i] == "\\" and i + 1 < n else "/"
                i += 2 if script[i] == "\\" else 1
                while i < n and script[i] != delim:
                    i += 2 if script[i] == "\\" else 1
                i += 1
                while i < n and script[i] in "IM":
                    i += 1
            else:
                i += 1
        while i < n and script[i] in " \t!":
            i += 1
        if i >= n:
            break
        cmd = script[i]
        i += 1
        if cmd in "wWrR":
            end = script.find("\n", i)
            name = script[i:end if end >= 0 else n].strip()
            (writes if cmd in "wW" else reads).append(name)
            i = n if end < 0 else end
        elif cmd == "e":
            return writes, reads, True
        elif cmd in "sy":
            if i >= n:
                return writes, reads, True
            delim = script[i]
            i += 1
            for _ in range(2):
                while i < n and script[i] != delim:
                    i += 2 if script[i] == "\\" else 1
                i += 1
            flags_start = i
            while i < n and script[i] not in ";\n}":
                if script[i] == "w" and cmd == "s":
                    end = script.find("\n", i)
                    writes.append(script[i + 1:end if end >= 0 else n].strip())
                    i = n if end < 0 else end
                    break
                if script[i] == "e" and cmd == "s":
                    return writes, reads, True
                i += 1
            del flags_start
        elif cmd in "aic":
            end = script.find("\n", i)
            i = n if end < 0 else end
        elif cmd in ":btTvlLqQ":
            while i < n and script[i] not in ";\n}":
                i += 1
        elif cmd in "=dDgGhHlnNpPxzF#":
            if cmd == "#":
                end = script.find("\n", i)
                i = n if end < 0 else end
        else:
            return writes, reads, True
    return writes, reads, False


@handles("sed", "gsed")
def _sed(j: Judge, c: Call) -> list[str] | None:
    """`sed [-i] SCRIPT FILES`: -i rewrites the files; the script may write, read or run."""
    opts = _opts(c, "nrEszuU", "efl", lflags={"--in-place", "--quiet", "--silent",
                                               "--regexp-extended", "--separate", "--null-data",
                                               "--unbuffered", "--posix", "--debug",
                                               "--sandbox", "--follow-symlinks"},
                 lwith={"--expression", "--file", "--line-length"})
    in_place = any((o.startswith("-i") or o == "--in-place") for o, _ in opts.found) or any(
        (v.text or "").startswith("-i") or (v.text or "").startswith("--in-place")
        for v in c.args)
    scripts = opts.values("-e", "--expression")
    files = opts.operands
    if not scripts and not opts.values("-f", "--file"):
        scripts, files = files[:1], files[1:]
    for f in opts.values("-f", "--file"):
        j.read(f, c.state, "`sed -f`")
        j.note(UNSURE if f.text is None else ASK, "`sed -f` runs a sed script from a file")
    for s in scripts:
        if s.text is None:
            j.note(UNSURE, "a sed script only known at run time")
            continue
        w, r, runs = _sed_script_files(s.text)
        if runs and not opts.has("--sandbox"):
            j.note(UNSURE, "the sed script may run commands (`e`) or could not be followed")
        _writes(j, c, [Value(x, x) for x in w])
        _reads(j, c, [Value(x, x) for x in r])
    if in_place:
        _writes(j, c, files)
        return ["sed", "-i"]
    _reads(j, c, files)
    return ["sed"]


