"""Cisco NSO over RESTCONF: an async client (and a simulator, in ``.simulator``).

from adapters.nso_restconf import NsoClient, NsoConfig, CommitParams

async with NsoClient(NsoConfig(url="http://127.0.0.1:8888", password=...)) as nso:
    status = await nso.devices.check_sync("pe0")
"""

from adapters.nso_restconf.client import NsoClient, PatchEdit, PatchResult
from adapters.nso_restconf.commit import (
    CommitEncoding,
    CommitParams,
    CommitQueueMode,
    DryRunFormat,
    encoding_for_version,
)
from adapters.nso_restconf.config import NsoConfig
from adapters.nso_restconf.dryrun import DryRunResult
from adapters.nso_restconf.errors import (
    AccessDenied,
    AlreadyExists,
    BadRequest,
    CommitParamsError,
    CommitQueueTimeout,
    DeviceOutOfSync,
    ErrorDetail,
    InUse,
    InvalidResponse,
    NotFound,
    NsoConnectionError,
    NsoError,
    NsoRequestError,
    NsoTimeout,
    PreconditionFailed,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from adapters.nso_restconf.paths import data_path, device_path, list_entry
from adapters.nso_restconf.results import (
    ActionResult,
    CheckSyncResult,
    DataReply,
    DeviceInfo,
    FetchHostKeysResult,
    PingResult,
    Platform,
    QueueItem,
    QueueItemStatus,
    ServiceCheckSync,
    SyncStatus,
    WriteResult,
)
from adapters.nso_restconf.sync import SyncNsoClient

__all__ = [
    "AccessDenied",
    "ActionResult",
    "AlreadyExists",
    "BadRequest",
    "CheckSyncResult",
    "CommitEncoding",
    "CommitParams",
    "CommitParamsError",
    "CommitQueueMode",
    "CommitQueueTimeout",
    "DataReply",
    "DeviceInfo",
    "DeviceOutOfSync",
    "DryRunFormat",
    "DryRunResult",
    "ErrorDetail",
    "FetchHostKeysResult",
    "InUse",
    "InvalidResponse",
    "NotFound",
    "NsoClient",
    "NsoConfig",
    "NsoConnectionError",
    "NsoError",
    "NsoRequestError",
    "NsoTimeout",
    "PatchEdit",
    "PatchResult",
    "PingResult",
    "Platform",
    "PreconditionFailed",
    "QueueItem",
    "QueueItemStatus",
    "ServerError",
    "ServiceCheckSync",
    "ServiceUnavailable",
    "SyncNsoClient",
    "SyncStatus",
    "Unauthorized",
    "UnsupportedMediaType",
    "WriteResult",
    "data_path",
    "device_path",
    "encoding_for_version",
    "list_entry",
]
