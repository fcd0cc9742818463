"""`python -m clientele` runs the command line."""

from clientele.cli import main

main()
