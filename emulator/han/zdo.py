"""Device-level ZDO answers every node gives (node, active endpoints, simple and match
descriptors), encoded with zigpy's ZDO schemas."""

from __future__ import annotations

import logging

import zigpy.types as t
import zigpy.zdo.types as zdo_t

LOGGER = logging.getLogger(__name__)

ZDO_ENDPOINT = 0


def encode(command: zdo_t.ZDOCmd, tsn: int, *args) -> bytes:
    _names, types = zdo_t.CLUSTERS[command]
    return bytes([tsn & 0xFF]) + t.serialize(args, types)


def decode(command: zdo_t.ZDOCmd, data: bytes) -> tuple[int, list]:
    """(TSN, arguments); raises ValueError on short or malformed frames."""
    if not data:
        raise ValueError("empty ZDO frame")
    _names, types = zdo_t.CLUSTERS[command]
    args, _rest = t.deserialize(data[1:], types)
    return data[0], args


class ZdoResponder:
    """Answers descriptor requests for one node from its descriptors."""

    def __init__(
        self,
        node_descriptor: zdo_t.NodeDescriptor,
        endpoints: dict[int, zdo_t.SimpleDescriptor],
    ) -> None:
        self.node_descriptor = node_descriptor
        self.endpoints = endpoints

    def answer(self, own_nwk: int, cluster_id: int, data: bytes) -> tuple[int, bytes] | None:
        """(response cluster, response frame) for a request, or None if not ours to answer."""
        ok = zdo_t.Status.SUCCESS
        try:
            if cluster_id == zdo_t.ZDOCmd.Node_Desc_req:
                tsn, _ = decode(zdo_t.ZDOCmd.Node_Desc_req, data)
                rsp = encode(zdo_t.ZDOCmd.Node_Desc_rsp, tsn, ok, own_nwk, self.node_descriptor)
                return zdo_t.ZDOCmd.Node_Desc_rsp, rsp
            if cluster_id == zdo_t.ZDOCmd.Active_EP_req:
                tsn, _ = decode(zdo_t.ZDOCmd.Active_EP_req, data)
                eps = sorted(self.endpoints)
                return zdo_t.ZDOCmd.Active_EP_rsp, encode(
                    zdo_t.ZDOCmd.Active_EP_rsp, tsn, ok, own_nwk, eps
                )
            if cluster_id == zdo_t.ZDOCmd.Simple_Desc_req:
                tsn, (_nwk, endpoint) = decode(zdo_t.ZDOCmd.Simple_Desc_req, data)
                desc = self.endpoints.get(endpoint)
                answer = zdo_t.ZDOCmd.Simple_Desc_rsp
                if desc is None:  # the descriptor is omitted with a non-success status
                    return answer, encode(answer, tsn, zdo_t.Status.NOT_ACTIVE, own_nwk)
                sized = zdo_t.SizePrefixedSimpleDescriptor(**desc.as_dict())
                return answer, encode(answer, tsn, ok, own_nwk, sized)
            if cluster_id == zdo_t.ZDOCmd.Match_Desc_req:
                tsn, (_nwk, profile, in_clusters, out_clusters) = decode(
                    zdo_t.ZDOCmd.Match_Desc_req, data
                )
                matches = [
                    ep
                    for ep, desc in sorted(self.endpoints.items())
                    if desc.profile == profile
                    and (
                        set(in_clusters) & set(desc.input_clusters)
                        or set(out_clusters) & set(desc.output_clusters)
                    )
                ]
                if not matches:
                    return None  # unicast-only answer rule: silent when nothing matches
                return zdo_t.ZDOCmd.Match_Desc_rsp, encode(
                    zdo_t.ZDOCmd.Match_Desc_rsp, tsn, ok, own_nwk, matches
                )
        except (ValueError, KeyError) as exc:
            LOGGER.info("malformed ZDO request 0x%04X: %s", cluster_id, exc)
            raise
        return None
