package pcapfile

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// Link types that specgate decodes. Some systems write raw IP as 12 or 14
// (the BSDs' DLT_RAW values) rather than libpcap's 101.
const (
	linkRawBSD     layers.LinkType = 12
	linkRawOpenBSD layers.LinkType = 14
)

// supported reports whether specgate decodes frames of link type lt.
func supported(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeNull, layers.LinkTypeEthernet, layers.LinkTypeLoop,
		layers.LinkTypeRaw, linkRawBSD, linkRawOpenBSD,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2:
		return true
	}
	return false
}

// linkTypeNames are libpcap's LINKTYPE_ names (without the prefix) for the
// link types a user is likely to meet, so an error can name what it saw.
var linkTypeNames = map[layers.LinkType]string{
	0:   "NULL",
	1:   "ETHERNET",
	3:   "AX25",
	6:   "IEEE802_5",
	7:   "ARCNET_BSD",
	8:   "SLIP",
	9:   "PPP",
	10:  "FDDI",
	12:  "RAW",
	14:  "RAW",
	50:  "PPP_HDLC",
	51:  "PPP_ETHER",
	100: "ATM_RFC1483",
	101: "RAW",
	104: "C_HDLC",
	105: "IEEE802_11",
	107: "FRELAY",
	108: "LOOP",
	113: "LINUX_SLL",
	114: "LTALK",
	117: "PFLOG",
	119: "IEEE802_11_PRISM",
	122: "IP_OVER_FC",
	123: "SUNATM",
	127: "IEEE802_11_RADIO",
	129: "ARCNET_LINUX",
	138: "APPLE_IP_OVER_IEEE1394",
	143: "DOCSIS",
	144: "LINUX_IRDA",
	163: "IEEE802_11_AVS",
	165: "BACNET_MS_TP",
	166: "PPP_PPPD",
	177: "LINUX_LAPD",
	187: "BLUETOOTH_HCI_H4",
	189: "USB_LINUX",
	192: "PPI",
	195: "IEEE802_15_4_WITHFCS",
	197: "ERF",
	201: "BLUETOOTH_HCI_H4_WITH_PHDR",
	215: "IEEE802_15_4_NONASK_PHY",
	220: "USB_LINUX_MMAPPED",
	227: "CAN_SOCKETCAN",
	228: "IPV4",
	229: "IPV6",
	235: "DVB_CI",
	239: "NFLOG",
	240: "NETANALYZER",
	249: "USBPCAP",
	252: "WIRESHARK_UPPER_PDU",
	253: "NETLINK",
	254: "BLUETOOTH_LINUX_MONITOR",
	263: "BLUETOOTH_LE_LL",
	266: "NETANALYZER_TRANSPARENT",
	270: "NORDIC_BLE",
	272: "DOCSIS31_XRA31",
	274: "ETHERNET_MPACKET",
	276: "LINUX_SLL2",
}

// LinkTypeError reports frames of a link type specgate does not decode.
type LinkTypeError struct {
	LinkType layers.LinkType
}

// Error names the link type and what specgate reads instead.
func (e *LinkTypeError) Error() string {
	name := linkTypeNames[e.LinkType]
	if name == "" {
		name = "unknown"
	}
	return fmt.Sprintf("unsupported link type %d (%s); specgate reads Ethernet, Linux cooked (SLL, SLL2), raw IP and loopback captures", uint16(e.LinkType), name)
}
