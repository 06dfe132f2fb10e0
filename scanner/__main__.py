"""`python -m scanner` is `beian`."""

import sys

from scanner.cli import main

sys.exit(main())
