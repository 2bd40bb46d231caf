"""The live console of ``coldbrew serve``: a web page at ``/`` on the control API port.

:mod:`.snapshot` builds the JSON the page polls (``/console/state``); :mod:`.routes` serves it
and the page's assets, which ship in the package (``assets/``: hand-drawn SVG, no CDN).
"""

from .routes import add_routes
from .snapshot import Snapshotter

__all__ = ["Snapshotter", "add_routes"]
