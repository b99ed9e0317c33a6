"""python -m benchmarks [--sizes 10x5,100x50,1000x500] [--out DIR]: see docs/benchmarks.md."""

from __future__ import annotations

import sys

from benchmarks.harness import main

sys.exit(main())
