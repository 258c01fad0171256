"""`new_plugin(name, dest)`: write a working had plugin from the template in ``had_sdk/template``.

The result, ``DEST/had-plugin-NAME/``, holds a pyproject (distribution ``had-plugin-NAME``, entry point group
``had``), a package ``had_NAME`` with a small torch detector on :class:`~had_sdk.torch_detector.TorchDetector`
registered as ``NAME``, tests that run the conformance kit, and a README. It installs
(``pip install -e``) and passes its tests as written. ``had plugin new NAME [--dest DIR]`` calls this.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from had.atomic import directory
from had.errors import HadError

#: a valid plugin name, matched whole (was: ``...$`` with ``match``, which let a trailing newline through: ``had plugin
#: new $'eta\n'`` wrote ``had-plugin-eta\n/`` with a pyproject that TOML readers refuse)
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")


def normalised(name: str) -> str:
    """`name` as PEP 503 compares distribution names: runs of ``-``, ``_``, ``.`` made one ``-``, lowercase."""
    return re.sub(r"[-_.]+", "-", name).lower()


def names_for(name: str) -> dict[str, str]:
    """Template variables: name, distribution, package, class_name; HadError for an invalid name."""
    if not NAME_PATTERN.fullmatch(name or ""):
        raise HadError(
            f"invalid plugin name {name!r}: use lowercase letters and digits, words joined by '-' or '_' "
            "(e.g. 'deep-svdd'), starting with a letter"
        )
    words = re.split(r"[-_]", name)
    return {
        "name": name,
        "distribution": f"had-plugin-{name}",
        "package": "had_" + "_".join(words),
        "class_name": "".join(w.capitalize() for w in words) + "Detector",
    }


def check_name_free(name: str) -> None:
    """HadError when `name`, the new plugin's entry point and detector name, is taken: an installed plugin's entry
    point (``had`` is the core's), whose plugin would hide the new one or be hidden by it, or a registered
    detector, whose name the new plugin's registration would lose (``had plugin new rx``, ``had plugin new sdk``
    were written without a word); or when what the plugin installs is: its package ``had_NAME`` importable already
    (``had plugin new entry`` wrote ``had_entry``, which shadowed had's console entry point once installed: every
    ``had`` command died), or its distribution ``had-plugin-NAME`` installed under the same PEP 503 name (``had
    plugin new foo_bar`` beside ``had-plugin-foo-bar`` wrote the same distribution and package, and installing it
    replaced the other plugin). Entry-point names are compared normalised too."""
    import importlib.util
    from importlib import metadata

    from had import plugins

    variables = names_for(name)
    owners = {"had": ("had", "had itself")}
    for ep in metadata.entry_points(group=plugins.GROUP):
        owner = ep.dist.metadata["Name"] if ep.dist is not None else "an installed plugin"
        owners.setdefault(normalised(ep.name), (ep.name, owner))
    if normalised(name) in owners:
        taken, owner = owners[normalised(name)]
        same = "" if taken == name else f" ({taken!r}: the same name once '-' and '_' are made alike)"
        raise HadError(f"the name {name!r} is taken: it is the entry point of {owner}{same}; choose another name")
    entry = plugins.registry()["detector"].get(name)
    if entry is not None:
        raise HadError(f"a detector named {name!r} is already registered (plugin {entry.plugin!r}); choose another "
                       "name")
    distribution = normalised(variables["distribution"])
    for dist in metadata.distributions():
        if normalised(dist.metadata["Name"] or "") == distribution:
            raise HadError(f"the name {name!r} is taken: the distribution {dist.metadata['Name']} is installed, and "
                           f"{variables['distribution']} is the same distribution (its name normalised); choose "
                           "another name")
    package = variables["package"]
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # a broken module of that name is taken all the same
        spec = True
    if spec is not None:
        where = f" ({spec.origin})" if getattr(spec, "origin", None) else ""
        raise HadError(f"the name {name!r} is taken: a module {package} is importable already{where}, and the "
                       f"plugin's package {package} would shadow it or be shadowed by it; choose another name")


def _render(text: str, variables: dict[str, str]) -> str:
    for key, value in variables.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def new_plugin(name: str, dest: str | Path = ".") -> Path:
    """Write ``dest/had-plugin-NAME`` from the template (atomically); returns its path.

    Refuses (HadError) an invalid name, an existing non-empty destination, or a `dest` that is a saved model's
    folder or lies in one (a file written there stops the model being exported or replaced).
    """
    from had.artifact import check_outside_artifacts

    variables = names_for(name)
    check_name_free(name)
    check_outside_artifacts(dest, "--dest", "give a folder outside it for the plugin")
    root = Path(dest) / variables["distribution"]
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise HadError(f"{root} already exists and is not empty; choose another --dest or remove it")
    template = resources.files("had_sdk") / "template"
    with directory(root) as tmp:
        for source in _walk(template):
            rel = Path(*source.relative_parts)
            target_rel = rel.with_suffix("") if rel.suffix == ".tmpl" else rel
            if target_rel.parts[0] == "package":
                target_rel = Path(variables["package"], *target_rel.parts[1:])
            if target_rel == Path("tests", "test_plugin.py"):
                target_rel = Path("tests", f"test_{variables['package']}.py")
            target = tmp / target_rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_render(source.node.read_text(encoding="utf-8"), variables), encoding="utf-8")
    return root


class _Item:
    def __init__(self, node, relative_parts):
        self.node, self.relative_parts = node, relative_parts


def _walk(node, parts=()):
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name != "__pycache__":
                yield from _walk(child, (*parts, child.name))
        elif child.name.endswith(".tmpl"):
            yield _Item(child, (*parts, child.name))
