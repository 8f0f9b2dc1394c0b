"""`python -m migrations.regenerate` from the repository root, as before the move.

The migrations live in the package now (listd/migrations/); this runs
`python -m listd.migrations.regenerate`.
"""

from listd.migrations.regenerate import main

if __name__ == "__main__":
    main()
