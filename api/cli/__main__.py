"""``python -m api.cli``: the same as the ``medler`` command."""

from api.cli import main

if __name__ == "__main__":
    main()
