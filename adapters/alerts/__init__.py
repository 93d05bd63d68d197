"""Alert delivery outside the process: webhooks (generic JSON, Slack, Discord)."""

from adapters.alerts.formats import FORMATS, render
from adapters.alerts.webhooks import WebhookSender, masked_url

__all__ = ["FORMATS", "WebhookSender", "masked_url", "render"]
