"""Who may call the nsgw.v1 API: TLS/mTLS, API tokens and the audit log."""
