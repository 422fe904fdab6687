"""``python -m okr_operator`` is the ``okr`` command."""

from okr_operator.cli import main

if __name__ == "__main__":
    main()
