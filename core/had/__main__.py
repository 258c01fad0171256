"""``python -m had``: the ``had`` command, as the console script runs it (``[project.scripts] had = had_entry:main``),
through the same entry point: its handling of Ctrl-C and SIGTERM before and after the command (``had_entry``)
holds here too, once Python has imported the ``had`` package itself.

Was: ``python -m had`` failed ("'had' is a package and cannot be directly executed"), so an environment whose
scripts folder is not on PATH (a venv not activated, ``pipx``, a container's ``python -m``) had no way in.
"""

if __name__ == "__main__":
    from had_entry import main

    main()
