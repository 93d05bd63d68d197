"""Alert delivery outside the process: webhooks (generic JSON, Slack, Discord).

The sender (``adapters.alerts.webhooks``) needs an HTTP client: it is imported where webhooks are
configured, so an engine without them (and a backtest) does not load one.
"""

from adapters.alerts.formats import FORMATS, render
from adapters.alerts.masking import masked_url

__all__ = ["FORMATS", "masked_url", "render"]
