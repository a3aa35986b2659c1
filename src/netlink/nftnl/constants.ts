/**
 * nf_tables netlink constants under their kernel names, so they can be grepped against
 * include/uapi/linux/{netlink,netfilter}.h, include/uapi/linux/netfilter/{nfnetlink,nf_tables}.h
 * (Linux 6.x) and libnftnl's include/libnftnl/udata.h. Only what ctnet's set-element batches,
 * its chain probe, its reading of other tables' forward chains and of the ruleset's change
 * notifications use.
 * @module
 */

// netlink.h
export const NETLINK_NETFILTER = 12;

// nfnetlink.h: struct nfgenmsg follows every nlmsghdr; the message type is (subsystem << 8) | op.
export const NFGENMSG_LEN = 4;
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_NFTABLES = 10;
// nfnetlink.h: enum nfnetlink_groups, the group every committed nf_tables change is announced to
export const NFNLGRP_NFTABLES = 7;
// NLMSG_MIN_TYPE and NLMSG_MIN_TYPE + 1: below every subsystem's range, so they carry no subsystem.
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;

// netfilter.h
export const NFPROTO_UNSPEC = 0;
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

// netfilter.h: verdicts (a base chain's policy) and the IPv4/IPv6/inet hooks
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NF_INET_FORWARD = 2;

// nf_tables.h: enum nf_tables_msg_types (the op half of the message type)
export const NFT_MSG_NEWTABLE = 0;
export const NFT_MSG_DELTABLE = 2;
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_DELCHAIN = 5;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_DELRULE = 8;
export const NFT_MSG_NEWSET = 9;
export const NFT_MSG_DELSET = 11;
export const NFT_MSG_NEWSETELEM = 12;
export const NFT_MSG_GETSETELEM = 13;
export const NFT_MSG_DELSETELEM = 14;
/** Sent after the notifications of each committed transaction, naming who made it. */
export const NFT_MSG_NEWGEN = 15;

// nf_tables.h: enum nft_table_attributes, enum nft_set_attributes
export const NFTA_TABLE_NAME = 1;
export const NFTA_SET_TABLE = 1;
export const NFTA_SET_NAME = 2;

// nf_tables.h: enum nft_gen_attributes (big-endian numbers)
export const NFTA_GEN_ID = 1;
export const NFTA_GEN_PROC_PID = 2;
export const NFTA_GEN_PROC_NAME = 3;

// nf_tables.h: enum nft_chain_attributes
export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_NAME = 3;
export const NFTA_CHAIN_HOOK = 4;
export const NFTA_CHAIN_POLICY = 5;

// nf_tables.h: enum nft_hook_attributes (nested in NFTA_CHAIN_HOOK)
export const NFTA_HOOK_HOOKNUM = 1;
export const NFTA_HOOK_PRIORITY = 2;

// nf_tables.h: enum nft_rule_attributes
export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_HANDLE = 3;
export const NFTA_RULE_USERDATA = 7;

// nf_tables.h: enum nft_list_attributes
export const NFTA_LIST_ELEM = 1;

// nf_tables.h: enum nft_set_elem_list_attributes
export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_SET_ELEM_LIST_SET_ID = 4;

// nf_tables.h: enum nft_set_elem_attributes
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_DATA = 2;
export const NFTA_SET_ELEM_FLAGS = 3;
export const NFTA_SET_ELEM_USERDATA = 6;

// nf_tables.h: enum nft_data_attributes
export const NFTA_DATA_VALUE = 1;

// nf_tables.h: sizes
/** Each field of a concatenation occupies whole 32-bit registers. */
export const NFT_REG32_SIZE = 4;
export const NFT_DATA_VALUE_MAXLEN = 64;
export const NFT_USERDATA_MAXLEN = 256;

// libnftnl udata.h: enum nftnl_udata_set_elem_types, the TLVs nft keeps in NFTA_SET_ELEM_USERDATA
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0;
// libnftnl udata.h: enum nftnl_udata_rule_types, the TLVs nft and iptables-nft keep in NFTA_RULE_USERDATA
export const NFTNL_UDATA_RULE_COMMENT = 0;

// in.h: the inet_proto values ctnet publishes
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** The netlink message type of nf_tables operation `op`. */
export function nftMsgType(op: number): number {
  return (NFNL_SUBSYS_NFTABLES << 8) | op;
}

/** Names of the message types, for error messages (`NFT_MSG_NEWSETELEM pub4_any_addr ... failed`). */
export const NFT_NAMES: Readonly<Record<number, string>> = {
  [NFNL_MSG_BATCH_BEGIN]: 'NFNL_MSG_BATCH_BEGIN',
  [NFNL_MSG_BATCH_END]: 'NFNL_MSG_BATCH_END',
  [nftMsgType(NFT_MSG_NEWCHAIN)]: 'NFT_MSG_NEWCHAIN',
  [nftMsgType(NFT_MSG_GETCHAIN)]: 'NFT_MSG_GETCHAIN',
  [nftMsgType(NFT_MSG_NEWRULE)]: 'NFT_MSG_NEWRULE',
  [nftMsgType(NFT_MSG_GETRULE)]: 'NFT_MSG_GETRULE',
  [nftMsgType(NFT_MSG_NEWSETELEM)]: 'NFT_MSG_NEWSETELEM',
  [nftMsgType(NFT_MSG_GETSETELEM)]: 'NFT_MSG_GETSETELEM',
  [nftMsgType(NFT_MSG_DELSETELEM)]: 'NFT_MSG_DELSETELEM',
};
