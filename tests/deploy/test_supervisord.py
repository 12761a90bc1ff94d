"""deploy/supervisord: supervisord itself reads the file and finds the API and two workers."""

from __future__ import annotations

import getpass
from pathlib import Path

from supervisor.options import ServerOptions

from tests.support.tools import ROOT


def test_supervisord_reads_the_api_and_worker_programs(tmp_path: Path) -> None:
    # The host's `shelf` user and log directory do not exist here; everything else is as shipped.
    text = (ROOT / "deploy/supervisord/shelf.conf").read_text()
    text = text.replace("user=shelf", f"user={getpass.getuser()}")
    text = text.replace("/var/log/shelf", str(tmp_path))
    (tmp_path / "shelf.conf").write_text(text)
    main = tmp_path / "supervisord.conf"
    main.write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/s.pid\n"
        f"[include]\nfiles={tmp_path}/shelf.conf\n"
    )
    options = ServerOptions()
    options.realize(args=["-c", str(main)])
    (group,) = options.process_group_configs
    processes = {p.name: p for p in group.process_configs}
    assert processes["shelf-api"].command.endswith("shelf serve")
    assert sorted(n for n in processes if n.startswith("shelf-worker")) == [
        "shelf-worker-0",
        "shelf-worker-1",
    ]
    assert processes["shelf-api"].stopwaitsecs >= 35  # drain + GRACEFUL_TIMEOUT
