package live

import (
	"time"

	"golang.org/x/net/bpf"
)

// Defaults applied by Open to zero or negative Config fields.
const (
	DefaultSnaplen      = 262144
	DefaultBufferBytes  = 64 << 20
	DefaultPollInterval = 100 * time.Millisecond
)

// AnyInterface names the pseudo-interface that captures on every interface
// of the namespace through one socket.
const AnyInterface = "any"

// Config says what to capture and how.
type Config struct {
	// Interfaces are the interface names to capture on, one socket each.
	// Empty, or the single name "any", means every interface of the
	// namespace through one socket.
	Interfaces []string
	// Netns is the path of a network namespace file (/proc/PID/ns/net,
	// /var/run/netns/NAME); "" means the current namespace.
	Netns string
	// Filter is a classic BPF program the kernel runs on each packet, with
	// offsets from the network (IP) header; nil accepts every packet. Its
	// accepting return values are capped at Snaplen.
	Filter []bpf.RawInstruction
	// Snaplen is the number of bytes kept per packet (default 262144,
	// at most 1 MiB).
	Snaplen int
	// BufferBytes is the ring size per socket (default 64 MiB, at most
	// 1 GiB). It is rounded down to whole ring blocks, at least two, each
	// large enough for one packet of Snaplen bytes.
	BufferBytes int
	// PollInterval is how long ReadPacket waits before it returns
	// capture.ErrTimeout (default 100 ms).
	PollInterval time.Duration
}
