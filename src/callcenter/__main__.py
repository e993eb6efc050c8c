"""`python -m callcenter` is the same as the `callcenter` console script."""

from callcenter.cli import main

raise SystemExit(main())
