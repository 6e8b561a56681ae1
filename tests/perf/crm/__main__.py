"""`python -m tests.perf.crm [--scale 1] [--samples 200]`"""

import sys

from tests.perf.crm.cli import main

sys.exit(main())
