"""The NSI provider agent: this domain's reservations over the NSI gRPC contract."""
