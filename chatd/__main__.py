"""`python -m chatd` is the `chatd` command."""

from chatd.cli import main

raise SystemExit(main())
