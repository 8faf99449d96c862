"""The 1C exchange endpoint: 1C:Enterprise's CommerceML HTTP exchange (``type=catalog`` and the ``type=sale``
transport), served by uvicorn (``onec-pipeline exchange serve``).

* ``config``  settings from the environment (1C's credentials, zip, file limit, encoding, limits)
* ``auth``    Basic auth in constant time, failed logins rate-limited per client, session tokens
* ``files``   file names checked, a session's files assembled in a hidden directory and renamed into place
* ``exports`` segmented 3.1 exports gathered into one upload
* ``status``  what ``mode=import`` answers: quarantine, archive and the upload's Dagster run
* ``sale``    the hook the orders code fills for ``mode=query`` / ``mode=success``
* ``orders``  the orders' providers of that hook (``mode=query``, ``mode=info``) on the catalog database
* ``app``     the Starlette app; ``server`` runs it with uvicorn
"""

from __future__ import annotations

from .app import create_app
from .config import ConfigError, ExchangeConfig

__all__ = ["ConfigError", "ExchangeConfig", "create_app"]
