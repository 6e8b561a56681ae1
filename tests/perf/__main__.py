"""`python -m tests.perf [--quick] [--sizes 0,1000,5000] …`"""

import sys

from tests.perf.cli import main

sys.exit(main())
