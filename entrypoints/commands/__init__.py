"""The ``tradeplane`` commands, one module each: its ``add_parser`` and its handler."""
