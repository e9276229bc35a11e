//! The codec against the kernel's layout.

use netlink_packet_core::NetlinkPayload;

use super::*;

#[test]
fn new_service_request_has_the_kernel_layout() {
    let bytes = frame(&IpvsOp::AddService(vk("10.96.0.10", 80), rr()));
    let want = concat!(
        "68000000",
        "2400",
        "0500",
        "07000000",
        "00000000", // nlmsghdr: len 104, family 0x24
        "01010000", // genlmsghdr: IPVS_CMD_NEW_SERVICE, version 1
        "54000100", // IPVS_CMD_ATTR_SERVICE, 84 bytes, nested
        "060001000200",
        "0000", // AF_INET
        "060002000600",
        "0000",                                     // IPPROTO_TCP
        "140003000a60000a000000000000000000000000", // address union
        "060004000050",
        "0000",                     // port 80 big-endian
        "0700060072720000",         // sched "rr\0" + pad
        "0c00070000000000ffffffff", // flags {0, ~0}
        "0800080000000000",         // timeout 0
        "08000900ffffffff",         // netmask 255.255.255.255
    );
    assert_eq!(hex(&bytes), want);
}

#[test]
fn persistent_service_sets_the_flag_and_timeout() {
    let spec = VirtualSpec {
        scheduler: "rr".into(),
        persistence: Some(10800),
    };
    let s = service_full(&vk("10.96.0.10", 80), &spec);
    assert_eq!(
        s.flags,
        Some(SvcFlags {
            flags: SVC_F_PERSISTENT,
            mask: u32::MAX
        })
    );
    assert_eq!(s.timeout, Some(10800));
    let bytes = frame(&IpvsOp::AddService(vk("10.96.0.10", 80), spec));
    assert!(
        hex(&bytes).contains("0c00070001000000ffffffff"),
        "{}",
        hex(&bytes)
    );
    assert!(hex(&bytes).contains("08000800302a0000"), "{}", hex(&bytes));
}

#[test]
fn new_dest_request_nests_service_key_and_masquerading_dest() {
    let bytes = frame(&IpvsOp::AddReal(
        vk("10.96.0.10", 80),
        rk("10.2.0.2", 8080),
        1,
    ));
    let want = concat!(
        "8c000000",
        "2400",
        "0500",
        "07000000",
        "00000000",
        "05010000", // IPVS_CMD_NEW_DEST
        "30000100", // service key: af, protocol, addr, port
        "0600010002000000",
        "0600020006000000",
        "140003000a60000a000000000000000000000000",
        "0600040000500000",
        "48000200",                                 // IPVS_CMD_ATTR_DEST
        "140001000a020002000000000000000000000000", // addr
        "06000200",
        "1f900000",         // port 8080 big-endian
        "0800030000000000", // IP_VS_CONN_F_MASQ
        "0800040001000000", // weight 1
        "0800050000000000", // u_thresh
        "0800060000000000", // l_thresh
        "06000b0002000000", // addr family AF_INET
    );
    assert_eq!(hex(&bytes), want);
}

#[test]
fn requests_decode_back_to_what_was_encoded() {
    let ops = [
        IpvsOp::AddService(vk("10.96.0.10", 80), rr()),
        IpvsOp::SetWeight(vk("10.96.0.10", 80), rk("10.2.0.2", 8080), 0),
        IpvsOp::DelReal(
            VirtualKey {
                protocol: Protocol::Udp,
                addr: ip("fd00::10"),
                port: 53,
            },
            rk("fd00:1::2", 5353),
        ),
    ];
    for op in &ops {
        let bytes = frame(op);
        let decoded = decode_frame(&bytes).unwrap();
        assert_eq!(decoded.header.sequence_number, 7);
        let NetlinkPayload::InnerMessage(genl) = decoded.payload else {
            panic!("not an IPVS message")
        };
        assert_eq!(genl.payload, request(op));
    }
}

#[test]
fn a_kernel_service_dump_reply_decodes_skipping_stats() {
    // IPVS_CMD_NEW_SERVICE with a service carrying stats (nested, ignored) and pe_name.
    let attrs = concat!(
        "0600010002000000",
        "0600020011000000", // UDP
        "140003000a60000a000000000000000000000000",
        "0600040000350000", // port 53
        "0700060072720000",
        "0c00070003000000ffffffff", // persistent|hashed
        "08000800100e0000",         // 3600
        "08000900ffffffff",
        "0c000a00",
        "0800010005000000", // stats { conns: 5 }
    );
    let inner_len = 4 + attrs.len() / 2;
    let total = 16 + 4 + inner_len;
    let msg = format!(
        "{:02x}000000240002000100000000000000010100{}{:02x}000100{}",
        total, "00", inner_len, attrs
    );
    let bytes: Vec<u8> = (0..msg.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&msg[i..i + 2], 16).unwrap())
        .collect();
    let decoded = decode_frame(&bytes).unwrap();
    let NetlinkPayload::InnerMessage(genl) = decoded.payload else {
        panic!("not an IPVS message")
    };
    let [IpvsAttr::Service(s)] = genl.payload.attrs.as_slice() else {
        panic!("{:?}", genl.payload)
    };
    let (key, spec) = parse_service(s).unwrap();
    assert_eq!(
        key,
        VirtualKey {
            protocol: Protocol::Udp,
            addr: ip("10.96.0.10"),
            port: 53
        }
    );
    assert_eq!(spec.persistence, Some(3600));
    assert_eq!(s.netmask, Some(u32::MAX));
}
