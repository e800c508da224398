"""The provider agent's rules in plain Python: no transport, no database."""
