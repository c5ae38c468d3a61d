"""Map the repository's top-level parts into the single `sessionlint` namespace.

The repository keeps `lint_rules/`, `harness/` and `sample_apps/` beside
`sessionlint/` (the layout the project asked for); installed, they become
`sessionlint.lint_rules`, `sessionlint.harness` and `sessionlint.sample_apps`, so
`sessionlint` is the only top-level name the package adds to an environment.
"""

from setuptools import find_packages, setup

PARTS = {"lint_rules": "sessionlint.lint_rules", "harness": "sessionlint.harness", "sample_apps": "sessionlint.sample_apps"}

packages = ["sessionlint"] + [f"sessionlint.{sub}" for sub in find_packages("sessionlint")]
package_dir = {"sessionlint": "sessionlint"}
for directory, namespace in PARTS.items():
    package_dir[namespace] = directory
    packages.append(namespace)
    packages.extend(f"{namespace}.{sub}" for sub in find_packages(directory))

setup(packages=packages, package_dir=package_dir, package_data={"sessionlint.lint_rules": ["py.typed"]})
