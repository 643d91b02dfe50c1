"""Where a path named in a shell command really lands, and whether it holds secrets.

The permission judge (hrmcli.tools.shelljudge) asks two questions about every file a command
writes or reads: is it inside the repository, and is it a known secret? Both are answered on
the real path: `..`, `~`, absolute paths and symlinks that exist now are all followed, so a
link inside the repository that points at ~/.bashrc counts as ~/.bashrc.
"""

from __future__ import annotations

import fnmatch
import glob as globmod
import os
import pwd
import re

# Writing to these only moves output around.
HARMLESS_WRITES = frozenset({
    "/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/1", "/dev/fd/2",
    "/proc/self/fd/1", "/proc/self/fd/2",
})
# Under the user's home: credentials, keys, tokens, shell and REPL histories.
SECRET_HOME = (
    ".ssh", ".aws", ".gnupg", ".config", ".netrc", ".docker/config.json", ".kube",
    ".git-credentials", ".git-credential-cache", ".pgpass", ".npmrc", ".pypirc", ".yarnrc",
    ".azure", ".gcloud", ".password-store", ".vault-token", ".terraform.d", ".cargo/credentials",
    ".cargo/credentials.toml", ".gem/credentials", ".m2/settings.xml",
    ".gradle/gradle.properties", ".local/share/keyrings", ".local/share/hrmcli", ".pki",
    ".mozilla", ".thunderbird", ".bash_history", ".zsh_history", ".history", ".sh_history",
    ".python_history", ".psql_history", ".mysql_history", ".node_repl_history",
    ".sqlite_history", ".lesshst", ".viminfo", ".boto", ".s3cfg", ".my.cnf", ".authinfo",
    ".authinfo.gpg", ".huggingface", ".cache/huggingface/token", ".cache/hrmcli", ".oci",
    ".ethereum", ".bitcoin", ".electrum", ".gitconfig", ".git-credentials.gpg", ".keychain",
    ".credentials", ".secrets", ".token", ".bashrc.d/secrets",
)
# Elsewhere on the machine.
SECRET_ABSOLUTE = (
    "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
    "/etc/sudoers.d", "/etc/master.passwd", "/etc/security/opasswd", "/etc/ssl/private",
    "/etc/krb5.keytab", "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_dsa_key", "/etc/letsencrypt",
    "/etc/docker/key.json", "/root", "/var/run/secrets", "/run/secrets", "/var/lib/sss",
    "/proc/kcore", "/dev/mem", "/dev/kmem", "/dev/port",
)
# Anywhere outside the repository: files that by their name hold keys or credentials.
SECRET_NAMES = (
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk", "*.pem",
    "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx", "*.ppk", "*.gpg", "*.asc",
    ".env", ".env.*", "*.env", ".envrc", "credentials", "credentials.*", "secrets",
    "secrets.*", "secret", "*.secret", "client_secret*.json", "token", "token.json", "*.token",
    "*_token", ".htpasswd", ".netrc", ".pgpass", "service-account*.json",
    "*.ovpn", "known_hosts", "authorized_keys",
)
# A path through one of these folders is a secret wherever it is (another user's ~/.ssh).
SECRET_COMPONENTS = frozenset({
    ".ssh", ".aws", ".gnupg", ".kube", ".docker", ".netrc", ".git-credentials",
    ".password-store", ".pgpass", ".azure", ".gcloud", ".vault-token", ".terraform.d",
})
# /proc/<pid>/environ and friends: another process's environment, memory or files.
_PROC_SECRET = re.compile(r"^/proc/[^/]+/(environ|mem|root|cwd|fd|map_files|auxv)(/|$)")
_RAW_DISK = re.compile(r"^/dev/(sd[a-z]|nvme|hd[a-z]|vd[a-z]|xvd|mmcblk|disk/|mapper/|dm-|md)")
_GLOB_CHARS = re.compile(r"[*?\[]")


def real_home() -> str:
    """The user's home from the password database: secrets live there whatever $HOME says."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return os.path.expanduser("~")


def user_home(user: str) -> str | None:
    """`~user`: that user's home, or None when there is no such user."""
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        return None


def _dotdot(component: str) -> bool:
    """Whether a pattern component can match `..`: only one written with a leading dot."""
    return (component.startswith(".") and bool(_GLOB_CHARS.search(component))
            and fnmatch.fnmatchcase("..", component))


def _within(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


class PathContext:
    """Path questions for one repository root (realpath'd)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        homes = {os.path.realpath(real_home()), os.path.realpath(os.path.expanduser("~"))}
        self.secret_dirs: list[str] = [
            os.path.realpath(os.path.join(h, e)) for h in sorted(homes) for e in SECRET_HOME]
        absolute = [p for p in SECRET_ABSOLUTE if p not in homes]  # /root when it is ours
        self.secret_dirs += [os.path.realpath(p) for p in absolute] + absolute
        hrm_home = os.environ.get("HRM_HOME")
        if hrm_home:
            self.secret_dirs.append(os.path.realpath(hrm_home))
        self.secret_dirs = sorted(set(self.secret_dirs))

    # -------------------------------------------------------------------- resolving

    def lexical(self, path: str, cwd: str | None) -> str | None:
        """The absolute, normalised path without following links (None: cwd unknown)."""
        if not os.path.isabs(path):
            if cwd is None:
                return None
            path = os.path.join(cwd, path)
        return os.path.normpath(path).replace("//", "/")

    def real(self, path: str, cwd: str | None, follow_last: bool = True) -> str | None:
        """The path with every existing symlink followed (None: cwd unknown). With
        follow_last=False the last component is kept (rm and mv act on a link itself)."""
        lex = self.lexical(path, cwd)
        if lex is None:
            return None
        if not os.path.isabs(path) and cwd is not None:
            path = os.path.join(cwd, path)
        try:
            if not follow_last:
                head, tail = os.path.split(os.path.normpath(path))
                if tail not in ("", ".", ".."):
                    return os.path.join(os.path.realpath(head), tail)
            return os.path.realpath(path)
        except (OSError, ValueError):
            return lex

    def candidates(self, path: str, cwd: str | None,
                   follow_last: bool = True) -> list[str] | None:
        """Real paths a possibly-globbed path can stand for (None: cwd unknown).

        A glob is expanded against the disk as it is now, plus the pattern itself as one
        name, plus `..` wherever a pattern component can match it (`.*` does in dash).
        """
        if not _GLOB_CHARS.search(path):
            one = self.real(path, cwd, follow_last)
            return None if one is None else [one]
        base = path if os.path.isabs(path) or cwd is None else os.path.join(cwd, path)
        if not os.path.isabs(base):
            return None
        out = [self.real(p, None, follow_last) or p for p in globmod.glob(base)[:200]]
        out.append(self.real(base, None, follow_last) or base)
        parts = base.split("/")
        if any(_dotdot(c) for c in parts):
            dotted = "/".join(".." if _dotdot(c) else c for c in parts)
            out.append(self.real(dotted, None) or dotted)
        return sorted(set(out))

    def secret_pattern(self, pattern: str, recursive: bool = False) -> str | None:
        """Whether a glob such as `~/.s*/id*` or `/etc/sh?dow` can name a secret location."""
        parts = pattern.rstrip("/").split("/")
        for top in self.secret_dirs:
            tparts = top.split("/")
            if len(parts) >= len(tparts):
                if fnmatch.fnmatchcase(top, "/".join(parts[:len(tparts)])):
                    return f"{pattern} can name the secret location {top}"
            elif recursive and fnmatch.fnmatchcase("/".join(tparts[:len(parts)]), pattern):
                return f"{pattern} can name a folder holding the secret location {top}"
        if any(fnmatch.fnmatchcase(c, p) for p in parts if _GLOB_CHARS.search(p)
               for c in SECRET_COMPONENTS):
            return f"{pattern} can name a credentials folder"
        name = parts[-1] if parts else ""
        if _GLOB_CHARS.search(name) and any(fnmatch.fnmatchcase(n, name) for n in (
                "id_rsa", "id_ed25519", "id_ecdsa", ".env", "credentials", ".netrc")):
            return f"{pattern} can name a key or credentials file"
        return None

    # -------------------------------------------------------------------- questions

    def inside(self, real: str) -> bool:
        return _within(real, self.root)

    def is_harmless_write(self, lexical: str) -> bool:
        """/dev/null and the standard streams, and process substitutions (/dev/fd/N)."""
        return lexical in HARMLESS_WRITES or bool(re.fullmatch(r"/dev/fd/\d+", lexical))

    def removes_repo(self, real: str) -> str | None:
        """Why deleting or moving `real` would destroy the repository, or None."""
        if _within(self.root, real):
            return "the repository itself" if real == self.root else "a folder holding the repository"
        if real == os.path.join(self.root, ".git"):
            return "the repository's .git folder"
        return None

    def code_in_git(self, real: str) -> str | None:
        """Writes that make git run code later: hooks and the repository's config."""
        git = os.path.join(self.root, ".git")
        if _within(real, os.path.join(git, "hooks")):
            return "a git hook (code git runs later)"
        if real == os.path.join(git, "config"):
            return "the repository's git config (it can name programs git runs)"
        return None

    def secret(self, real: str, recursive: bool = False) -> str | None:
        """Why reading `real` would read secrets, or None.

        Fixed locations (~/.ssh, /etc/shadow, ...) count wherever the repository is; names
        such as `.env` or `*.pem` only outside it. A recursive read (grep -r, tar, cp -r) of
        a folder that holds a secret location counts too.
        """
        for top in self.secret_dirs:
            if _within(real, top):
                return f"{real} is a secret location"
            if recursive and _within(top, real):
                return f"{real} holds the secret location {top}"
        if any(part in SECRET_COMPONENTS for part in real.split("/")) and not self.inside(real):
            return f"{real} is inside a credentials folder"
        if _PROC_SECRET.match(real):
            return f"{real} exposes another process's environment, memory or files"
        if _RAW_DISK.match(real):
            return f"{real} is a raw disk"
        if recursive and real in ("/proc", "/dev"):
            return f"{real} holds process environments and raw devices"
        if not self.inside(real):
            name = os.path.basename(real)
            if any(fnmatch.fnmatchcase(name.lower(), pat) for pat in SECRET_NAMES):
                return f"{real} looks like a key or credentials file"
        return None
