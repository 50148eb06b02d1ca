"""`python -m bysecond`: the same command line as `bysecond`."""

from bysecond.cli.app import main

main()
