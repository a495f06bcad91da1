"""``python -m relay`` runs the ``screenrelay`` command."""

from relay.cli import main

main()
