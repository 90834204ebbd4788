"""Command-line front ends: argument parsing only; each calls into the stages (console scripts
``sslcb-bench``, ``sslcb-evaluate``, ``sslcb-report``; ``tools/*.py`` in a checkout)."""
