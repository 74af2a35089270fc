"""emulator.han: the virtual ZigBee Smart Energy HAN (see docs/han.md).

medium (nodes, links, counters, acks), mac/nwk/aps/security (the
layers zigpy does not have), zcl/zdo/se_clusters (frames, with zigpy as the codec), network
(formation, device log, joining), key_establishment (CBKE flow, test-only crypto), link (the
device-link interface, in-process nodes), xbee_standin (firmware boards), pcap (captures).
"""
