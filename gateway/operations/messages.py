"""Domain operations to and from their nsgw.v1 protobuf messages."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from google.rpc import code_pb2

from gateway.operations.model import Operation, OperationError, Progress, State
from nsgw_proto.nsgw.v1 import operations_pb2

_STATES: dict[State, operations_pb2.OperationState.ValueType] = {
    State.PENDING: operations_pb2.OPERATION_STATE_PENDING,
    State.RUNNING: operations_pb2.OPERATION_STATE_RUNNING,
    State.SUCCEEDED: operations_pb2.OPERATION_STATE_SUCCEEDED,
    State.FAILED: operations_pb2.OPERATION_STATE_FAILED,
    State.CANCELLED: operations_pb2.OPERATION_STATE_CANCELLED,
}
_FROM_PROTO = {value: state for state, value in _STATES.items()}


def state_to_proto(state: State) -> operations_pb2.OperationState.ValueType:
    return _STATES[state]


def state_from_proto(value: int) -> State:
    """ValueError for UNSPECIFIED or an unknown number."""
    try:
        return _FROM_PROTO[operations_pb2.OperationState.ValueType(value)]
    except KeyError:
        raise ValueError(f"{value} is not an operation state") from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(when: datetime) -> timestamp_pb2.Timestamp:
    """The Timestamp of a datetime (naive: UTC), by plain arithmetic (FromDatetime is slower)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = when - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000
    )


def progress_to_proto(progress: Progress) -> operations_pb2.ProgressMessage:
    return operations_pb2.ProgressMessage(
        index=progress.index, time=timestamp(progress.time), message=progress.message
    )


def error_to_proto(error: OperationError) -> operations_pb2.OperationError:
    message = operations_pb2.OperationError(
        code=code_pb2.Code.Value(error.code),
        message=error.message,
        reason=error.reason,
        domain=error.domain,
        metadata=error.metadata,
    )
    if error.retry_delay is not None:
        message.retry_delay.FromNanoseconds(int(error.retry_delay * 1e9))
    return message


def operation_to_proto(op: Operation) -> operations_pb2.Operation:
    message = operations_pb2.Operation(
        name=op.name,
        id=op.id,
        kind=op.kind,
        target=op.target,
        state=state_to_proto(op.state),
        progress=[progress_to_proto(p) for p in op.progress],
        caller=op.caller,
        request_id=op.request_id,
        cancel_requested=op.cancel_requested,
        cancellable=op.cancellable,
        callback_url=op.callback_url,
        progress_url=op.progress_url,
        create_time=timestamp(op.create_time),
        update_time=timestamp(op.update_time),
    )
    if op.end_time is not None:
        message.end_time.CopyFrom(timestamp(op.end_time))
    if op.error is not None:
        message.error.CopyFrom(error_to_proto(op.error))
    if op.result is not None:
        for field in message.DESCRIPTOR.oneofs_by_name["result"].fields:
            if (
                field.message_type is not None
                and field.message_type.full_name == op.result.DESCRIPTOR.full_name
            ):
                getattr(message, field.name).CopyFrom(op.result)
                break
    return message
