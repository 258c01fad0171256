"""``python -m had``: the ``had`` command, as the console script runs it (``[project.scripts] had = had_entry:main``, which imports had.cli:main).

Was: ``python -m had`` failed ("'had' is a package and cannot be directly executed"), so an environment whose
scripts folder is not on PATH (a venv not activated, ``pipx``, a container's ``python -m``) had no way in.
"""

from had.cli import main

if __name__ == "__main__":
    main()
