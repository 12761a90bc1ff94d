"""Whether PyPI's advisory data can be read from here: exit 0 if so; if not, exit 1 and say why.

pip-audit reads each locked release's advisories from `<index>/<name>/<version>/json` (its
`vulnerabilities` field). A mirror may serve a project's JSON but not a release's, or nothing:
then the audit cannot run, and `make audit` says it was skipped instead of failing on every
package. The probe asks for the release of pip-audit that is installed, which surely exists.

    python scripts/advisories.py [index URL, default https://pypi.org/pypi]
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from importlib.metadata import version

PYPI = "https://pypi.org/pypi"


def unavailable_because(index: str = PYPI, timeout: float = 5.0) -> str | None:
    """Why the advisory data cannot be read from `index`, or None when it can."""
    url = f"{index.rstrip('/')}/pip-audit/{version('pip-audit')}/json"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            document = json.load(response)
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except (OSError, ValueError) as error:  # unreachable, timed out, not JSON
        return f"{url} cannot be read ({error})"
    if not isinstance(document, dict) or "vulnerabilities" not in document:
        return f"{url} carries no vulnerabilities field"
    return None


if __name__ == "__main__":
    reason = unavailable_because(sys.argv[1] if len(sys.argv) > 1 else PYPI)
    if reason:
        print(reason)
    sys.exit(1 if reason else 0)
