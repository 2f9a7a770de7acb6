"""`python -m playground.pack …`: the builder's command line (see `playground.pack.build`)."""

from playground.pack.build import main

raise SystemExit(main())
