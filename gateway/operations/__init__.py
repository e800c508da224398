"""Long-running operations: the engine behind every mutating call of the nsgw.v1 API.

``model`` holds the pure domain (states, transitions, progress, errors);
``store`` persists it; ``engine`` runs the work; ``callbacks`` tells callers;
``grpc_service`` serves ``nsgw.v1.Operations``; ``errors`` maps failures to
gRPC statuses.
"""
