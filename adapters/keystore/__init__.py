"""Venue API keys encrypted at rest, in one JSON file only its owner can read.

``keystore.Keystore`` is the file; ``sealing`` the cryptography (scrypt, AES-256-GCM, and why);
``secret.Secret`` the wrapper that keeps a secret out of logs and reprs. Import the pieces from
their modules; importing this package does nothing else.
"""
