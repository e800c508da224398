"""NSI Connection Service v2 over SOAP: codec, provider endpoint and requester client."""
