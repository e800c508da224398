"""Conversions between the API messages and the NSO client's values, and request checks."""

from __future__ import annotations

import pytest

from adapters.nso_restconf import CommitQueueMode, DryRunFormat, DryRunResult
from gateway.nso_api import validation
from gateway.nso_api.convert import (
    commit_params,
    dry_run_to_proto,
    from_struct,
    split_by_device,
    to_struct,
)
from gateway.nso_api.paging import page
from nsgw_proto.nsgw.v1 import nso_resources_pb2 as res

CLI_DIFF = """\
+l2vlan c1 {
+    vlan-id 200;
+}
 devices {
     device pe0 {
         config {
+            vlan 200;
         }
     }
     device pe1 {
         config {
-            vlan 100;
         }
     }
 }
"""


def test_a_cli_diff_splits_into_one_block_per_device() -> None:
    blocks = split_by_device(CLI_DIFF)
    assert list(blocks) == ["pe0", "pe1"]
    assert "+            vlan 200;" in blocks["pe0"]
    assert "vlan 100" not in blocks["pe0"]
    assert blocks["pe1"].rstrip().endswith("}")
    proto = dry_run_to_proto(DryRunResult(format=DryRunFormat.CLI, cli=CLI_DIFF))
    assert proto.format == res.DIFF_FORMAT_CLI
    assert [d.device for d in proto.devices] == ["pe0", "pe1"]
    assert proto.service_diff == CLI_DIFF


def test_a_device_action_diff_belongs_to_its_device() -> None:
    proto = dry_run_to_proto(
        DryRunResult(format=DryRunFormat.CLI, cli="-hostname x\n+hostname pe0\n"), device="pe0"
    )
    assert [(d.device, d.diff) for d in proto.devices] == [("pe0", "-hostname x\n+hostname pe0\n")]
    assert proto.service_diff == ""


def test_commit_params_map_to_the_client_and_refuse_what_nso_refuses() -> None:
    params = commit_params(
        res.CommitParams(
            no_networking=True, commit_queue=res.CommitParams.COMMIT_QUEUE_ASYNC, label="wf"
        )
    )
    assert params.no_networking
    assert params.commit_queue is CommitQueueMode.ASYNC
    assert params.label == "wf"
    assert params.rollback_id
    dry = commit_params(res.CommitParams(dry_run=True, dry_run_format=res.DIFF_FORMAT_XML))
    assert dry.dry_run is DryRunFormat.XML
    assert not dry.rollback_id
    with pytest.raises(ValueError, match="commit"):
        commit_params(res.CommitParams(dry_run=True, no_out_of_sync_check=True))


def test_json_numbers_come_back_as_integers() -> None:
    payload = {"l2vlan:l2vlan": [{"name": "c1", "vlan-id": 200, "ratio": 0.5, "on": True}]}
    assert from_struct(to_struct(payload)) == payload


def test_pages_and_their_tokens() -> None:
    items = list(range(5))
    first, token = page(items, 2, "", "devices")
    second, token2 = page(items, 2, token, "devices")
    last, end = page(items, 2, token2, "devices")
    assert (first, second, last, end) == ([0, 1], [2, 3], [4], "")
    with pytest.raises(ValueError, match="another list"):
        page(items, 2, token, "/l2vlan:l2vlan")
    with pytest.raises(ValueError, match="page token"):
        page(items, 2, "%%%", "devices")


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/l2vlan:l2vlan=c1", True),
        ("l2vlan:l2vlan=c1", True),
        ("/l2vpn:l2vpn/instance=customer-a", True),
        ("/l2vlan:l2vlan=a%2Fb", True),
        ("", False),
        ("/l2vlan=c1", False),
        ("/l2vlan:l2vlan=c1?depth=1", False),
        ("/l2vlan:l2vlan=c 1", False),
        ("/tailf-ncs:devices/device=pe0", False),
    ],
)
def test_service_paths(path: str, ok: bool) -> None:
    assert (validation.service_path(path) == []) == ok


def test_an_instance_path_names_one_entry() -> None:
    assert validation.service_instance_path("/l2vlan:l2vlan=c1") == []
    [(field, why)] = validation.service_instance_path("/l2vlan:l2vlan")
    assert field == "path"
    assert "one instance" in why
