"""`python -m services.cli`: the same as the `castflow` command."""

import sys

from services.cli import main

sys.exit(main())
