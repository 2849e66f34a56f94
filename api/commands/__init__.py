"""CLI commands, one module per area. Modules stay import-light: heavy imports go inside
commands."""
