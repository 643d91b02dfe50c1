"""Commands that reach the network or other machines: where they write, what they send.

`curl -o ~/.bashrc`, `wget -P /tmp`, `rsync a /etc/` write outside the repository (denied);
`curl -T ~/.ssh/id_rsa` and `-d @FILE` upload secrets (asked, denied under --yes); `nc -e`
and `socat ... EXEC:` hand a program to a network peer (denied); ssh options can run local
commands; container engines can mount the host.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import DENY, UNSURE, Call, handles
from hrmcli.tools.shellfiles import _opts, _reads, _writes
from hrmcli.tools.shellwords import Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge


@handles("curl")
def _curl(j: Judge, c: Call) -> list[str] | None:
    """curl: -o/-D/-c/--trace... write; -T and @FILE data read; -K config can say anything."""
    opts = _opts(c, "fsSLIkiOvqgGNRZ#ljnJ", "oDcbuHXdFTKeAEmrxyYzwCtQhU",
                 lwith={"--output", "--dump-header", "--cookie-jar", "--trace", "--trace-ascii",
                        "--stderr", "--libcurl", "--output-dir", "--upload-file", "--config",
                        "--data", "--data-binary", "--data-raw", "--data-urlencode",
                        "--data-ascii", "--form", "--form-string", "--json", "--cookie",
                        "--header", "--netrc-file", "--cacert", "--cert", "--key",
                        "--etag-save", "--hsts", "--alt-svc", "--url", "--request", "--user"})
    _writes(j, c, opts.values("-o", "--output", "-D", "--dump-header", "-c", "--cookie-jar",
                              "--trace", "--trace-ascii", "--stderr", "--libcurl",
                              "--output-dir", "--etag-save"))
    if opts.has("-O", "--remote-name", "--remote-name-all", "-J"):
        j.write(Value(".", "."), c.state, "`curl -O` (into the current folder)", c.edits)
    _reads(j, c, opts.values("-T", "--upload-file", "--netrc-file"))
    for v in opts.values("-K", "--config"):
        j.read(v, c.state, "`curl -K`")
        j.note(UNSURE, "`curl -K` reads options from a file (outputs, uploads) not judged")
    for v in opts.values("-d", "--data", "--data-binary", "--data-ascii", "--data-urlencode",
                         "-F", "--form", "--json", "-b", "--cookie", "-H", "--header"):
        t = v.text
        if t is None:
            continue
        for marker in ("@", "<"):
            if marker in t:
                path = t.split(marker, 1)[1].split(";", 1)[0]
                if path and path != "-":
                    j.read(Value(path, path), c.state, "`curl` uploads")
    return ["curl"]


@handles("wget", "wget2")
def _wget(j: Judge, c: Call) -> list[str] | None:
    opts = _opts(c, "bcdFhkKmNnpqrSvx46", "OoaPeiBtTwlQUADRIX",
                 lwith={"--output-document", "--output-file", "--append-output",
                        "--directory-prefix", "--execute", "--input-file", "--post-file",
                        "--body-file", "--config", "--load-cookies", "--save-cookies",
                        "--save-headers", "--warc-file", "--base", "--header", "--post-data",
                        "--method", "--user-agent", "--tries", "--timeout", "--level"})
    _writes(j, c, opts.values("-O", "--output-document", "-o", "--output-file", "-a",
                              "--append-output", "-P", "--directory-prefix", "--save-cookies",
                              "--warc-file"))
    if not opts.values("-O", "--output-document"):
        j.write(Value(".", "."), c.state, "`wget` (into the current folder)", c.edits)
    _reads(j, c, opts.values("-i", "--input-file", "--post-file", "--body-file",
                             "--load-cookies"))
    if opts.values("-e", "--execute", "--config"):
        j.note(UNSURE, "`wget -e/--config` runs wgetrc commands (outputs, uploads) not judged")
    return ["wget"]


@handles("rsync", "scp", "sftp", "rclone")
def _remote_copy(j: Judge, c: Call) -> list[str] | None:
    """rsync/scp: the last operand is the destination; `host:path` is another machine."""
    if c.base == "rclone":
        return ["rclone"]
    opts = _opts(c, "aAbcCdDEgHIklLmnoOpqrRStuvWxXz346BTr", "efiFJPSol"
                 if c.base != "rsync" else "eBfTM",
                 lwith={"--rsh", "--rsync-path", "--files-from", "--exclude-from",
                        "--include-from", "--temp-dir", "--backup-dir", "--partial-dir",
                        "--log-file", "--write-batch", "--only-write-batch", "--read-batch",
                        "--password-file", "--compare-dest", "--copy-dest", "--link-dest",
                        "--chown", "--chmod", "--filter", "--exclude", "--include"})
    for v in opts.values("-e", "--rsh", "-S"):
        if v.text is None:
            j.note(UNSURE, f"`{c.base}` remote shell only known at run time")
        else:
            j.run_string(v.text, c.state.copy(), f"{c.base} -e")
    if c.base == "scp" and (opts.values("-o") or opts.values("-F")):
        j.note(UNSURE, "`scp -o/-F` can run local commands (ProxyCommand)")
    _writes(j, c, opts.values("--log-file", "--write-batch", "--only-write-batch",
                              "--temp-dir", "--backup-dir"))
    ops = opts.operands
    local = [v for v in ops if not (v.text and ":" in v.text.split("/", 1)[0])]
    remote = len(local) != len(ops) or any(v.text is not None and v.text.startswith(
        ("rsync://",)) for v in ops)
    if len(ops) >= 2:
        dest, sources = ops[-1], ops[:-1]
        if dest in local:
            j.write(dest, c.state, f"`{c.base}`", c.edits)
        c.recursive = True
        _reads(j, c, [s for s in sources if s in local], recursive=True)
        if opts.has("--remove-source-files"):
            _writes(j, c, [s for s in sources if s in local], remove=True)
    return [c.base, "remote"] if remote else ["cp"]


_HOST_MOUNT = ("-v", "--volume", "--mount", "--privileged", "--pid", "--ipc", "--userns",
               "--cap-add", "--device", "--security-opt", "--net", "--network", "--uts")


@handles("docker", "podman", "nerdctl")
def _docker(j: Judge, c: Call) -> list[str] | None:
    """A container engine can reach the whole machine: host mounts outside the repository
    and privileged flags are denied; everything else asks (it is a `shell` command)."""
    texts = c.texts(1)
    for k, t in enumerate(texts):
        name, eq, val = t.partition("=")
        if name in ("--privileged",) or (name in ("--pid", "--ipc", "--userns", "--uts",
                                                    "--net", "--network")
                                         and (val or (texts[k + 1] if k + 1 < len(texts)
                                                      else "")) == "host"):
            j.note(DENY, f"`{c.base} {t}` gives the container the host")
        if name in ("-v", "--volume", "--mount") or t.startswith("-v"):
            spec = val if eq else (t[2:] if t.startswith("-v") and len(t) > 2 else
                                   texts[k + 1] if k + 1 < len(texts) else "")
            src = spec.split(":", 1)[0]
            if name == "--mount":
                src = next((p.split("=", 1)[1] for p in spec.split(",")
                            if p.startswith(("source=", "src="))), "")
            if src.startswith(("/", "~", ".")):
                real = j.paths.real(os.path.expanduser(src), c.state.cwd)
                if real is None or not j.paths.inside(real):
                    j.note(DENY, f"`{c.base}` mounts {src}, outside the repository, into a "
                                 "container")
        if "docker.sock" in t:
            j.note(DENY, f"`{c.base}` hands the container the docker socket (root on the host)")
    ops = [v for v in c.args if not (v.text or "").startswith("-")]
    if ops[:1] and ops[0].text == "cp" and len(ops) >= 3:
        dest = ops[-1]
        if dest.text is None or ":" not in dest.text.split("/", 1)[0]:
            j.write(dest, c.state, f"`{c.base} cp`", c.edits)
    return c.texts()


@handles("ssh")
def _ssh(j: Judge, c: Call) -> list[str] | None:
    """ssh runs commands on another machine (asked), but some options run local commands."""
    texts = [v.text or "" for v in c.args]
    local = ("proxycommand", "localcommand", "permitlocalcommand", "knownhostscommand",
             "match exec")
    if any(x in t.lower() for t in texts for x in local) or "-F" in texts:
        j.note(UNSURE, "`ssh` options that run local commands or read another config")
    return ["ssh"]


@handles("nc", "ncat", "netcat", "nc.openbsd", "nc.traditional", "socat", "telnet")
def _netcat(j: Judge, c: Call) -> list[str] | None:
    """Connecting a program to the network (`nc -e /bin/sh`, `socat ... EXEC:sh`) hands a
    remote peer a command line: denied. Plain connections ask (category shell)."""
    texts = [v.text or "" for v in c.args]
    for k, t in enumerate(texts):
        name = t.split("=", 1)[0]
        if c.base != "socat" and (name in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec")
                                  or (t.startswith("-") and not t.startswith("--")
                                      and ("e" in t[1:] or "c" in t[1:]) and k + 1 <
                                      len(texts) and c.base == "nc.traditional")):
            j.note(DENY, f"`{c.base} {t}` hands a program to a network peer")
        if c.base == "socat" and t.lower().startswith(("exec:", "system:")):
            j.note(DENY, f"`socat {t.split(':', 1)[0]}:` hands a program to a network peer")
    return ["nc"]
