"""`hrm chat`: the Textual TUI (app, screens, widgets, styles in chat.tcss)."""
