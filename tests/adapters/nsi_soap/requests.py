"""One fully populated ConnectionProvider request for each of the 13 provider operations."""

from __future__ import annotations

from typing import Any

from nsgw_proto.nsi import connection_provider_pb2 as provider_pb2
from tests.adapters.nsi_soap import samples


def provider_requests(reply_to: str = "http://127.0.0.1:9/requester") -> dict[str, Any]:
    def header() -> Any:
        return samples.header(reply_to=reply_to)

    since = samples.stamp(hour=9)
    requests: dict[str, Any] = {"reserve": samples.reserve_request(reply_to=reply_to)}
    for operation in ("reserveCommit", "reserveAbort", "provision", "release", "terminate"):
        requests[operation] = provider_pb2.GenericRequest(header=header(), connection_id="conn-1")
    requests["querySummary"] = provider_pb2.QueryRequest(
        header=header(), connection_id=["conn-1", "conn-2"], if_modified_since=since
    )
    requests["querySummarySync"] = provider_pb2.QueryRequest(
        header=header(), global_reservation_id=["urn:uuid:0f4b8c2e-1111-4a4a-9b9b-abcdefabcdef"]
    )
    requests["queryRecursive"] = provider_pb2.QueryRequest(header=header())
    for operation in ("queryNotification", "queryNotificationSync"):
        requests[operation] = provider_pb2.QueryNotificationRequest(
            header=header(), connection_id="conn-1", start_notification_id=2, end_notification_id=5
        )
    requests["queryResult"] = provider_pb2.QueryResultRequest(
        header=header(), connection_id="conn-1", start_result_id=1
    )
    requests["queryResultSync"] = provider_pb2.QueryResultRequest(
        header=header(), connection_id="conn-1", end_result_id=3
    )
    return requests
