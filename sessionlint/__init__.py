"""sessionlint: find SQLAlchemy session misuse, statically and under load."""

from pathlib import Path as _Path

__version__ = "0.1.0"


def _use_source_checkout() -> None:
    # In a source checkout that is not installed, `lint_rules/`, `harness/` and
    # `sample_apps/` sit beside this package instead of inside it (setup.py maps
    # them when installing).  Extending __path__ lets `python -m sessionlint` and
    # the tests import `sessionlint.lint_rules` straight from the checkout.
    root = _Path(__file__).resolve().parent.parent
    if (root / "lint_rules" / "__init__.py").is_file() and (root / "setup.py").is_file():
        if str(root) not in __path__:
            __path__.append(str(root))


_use_source_checkout()
