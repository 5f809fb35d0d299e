// Package live captures packets from network interfaces in pure Go (AF_PACKET, TPACKET_V3).
// It takes interface names, a network namespace and a BPF filter, and gives IP packets and drop counts.
//
// A [Source] is a capture.PacketSource and a capture.KernelStatser; each socket
// has a memory-mapped ring, and packets from several interfaces merge in time order.
// Sockets are cooked (SOCK_DGRAM), so every link type, and the "any" pseudo-interface,
// yields packets that start at the IPv4 or IPv6 header (layers.LinkTypeRaw). The filter
// is attached before the socket is bound, so no unfiltered packet is ever queued.
// Loopback packets are delivered once (the outgoing copy is skipped, as libpcap does),
// and an "any" socket leaves out the copies on bridge devices, which their ports carry
// too: both are rejected by the socket's filter, before the kernel copies them.
// A namespace is entered only on a dedicated, locked OS thread while the sockets are
// created; the sockets then keep capturing there from any thread.
package live
