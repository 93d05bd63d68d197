"""Exchange adapters: market-data feeds per venue and the local exchange simulator."""
