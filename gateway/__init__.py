"""nsgw: the network service integration gateway.

The ``gateway`` package is the application: the process (gRPC and HTTP servers
in one event loop), its configuration, logging and command line, and the
services that orchestrator workflows and NSI peers call.  Protocol adapters
(``adapters.nso_restconf``, ``adapters.nsi_soap``) are leaves it builds on.
"""

__version__ = "0.1.0"
