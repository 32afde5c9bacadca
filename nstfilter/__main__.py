"""``python -m nstfilter`` runs the CLI (used by tests and by editors' plug-ins)."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="nstfilter")
