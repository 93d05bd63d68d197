"""Model adapters: the machine-learning libraries behind the application's Trainer port."""
