"""Protocol adapters: leaves that speak one external protocol each.

They know nothing of ``gateway`` and nothing of each other.
"""
