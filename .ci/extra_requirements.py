"""Print the requirements of pyproject.toml's optional-dependency groups,
one per line, so that a CI step can install an extra's packages without
reinstalling wsfast itself (which would rebuild the extension: ~2 min).

    python .ci/extra_requirements.py docs uvicorn-test | xargs -d '\n' python -m pip install -q
"""

import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

with open("pyproject.toml", "rb") as f:
    extras = tomllib.load(f)["project"]["optional-dependencies"]
for name in sys.argv[1:]:
    print("\n".join(extras[name]))
