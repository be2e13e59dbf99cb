"""``python -m mysqlsim`` = the ``mysqlsim`` console script."""

from mysqlsim.cli import main

main()
