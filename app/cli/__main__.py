"""``python -m app.cli``: the same as ``domestique``."""

from app.cli import main

main()
