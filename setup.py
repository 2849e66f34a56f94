"""Package layout only (everything else is in pyproject.toml).

The design card's folders stay at the top of the repository but install under one import name:
`parsers/` is `prunestack.parsers`, `pipeline/` is `prunestack.pipeline`, and so on. Nothing else
(`api`, `eval`, ...) lands at the top of site-packages. Subpackages are discovered, so a new one
cannot be forgotten.
"""

from setuptools import find_packages, setup

ROOTS = {
    "prunestack": "prunestack",
    "prunestack.api": "api",
    "prunestack.eval": "eval",
    "prunestack.parsers": "parsers",
    "prunestack.pipeline": "pipeline",
    "prunestack.retrieval": "retrieval",
}

packages = []
for name, folder in ROOTS.items():
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]

setup(package_dir=ROOTS, packages=packages)
