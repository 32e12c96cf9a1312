"""`python -m cli …`, the same as the installed `triage` command."""

import sys

from cli import main

sys.exit(main())
