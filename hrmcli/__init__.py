"""hrmcli: a local-first terminal coding agent driven by HRM-Code."""

__version__ = "0.1.0"
