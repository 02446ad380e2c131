"""`python -m eqviz` runs the `eqviz` command."""
import sys

from eqviz.cli.main import main

sys.exit(main())
