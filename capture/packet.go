package capture

import (
	"context"
	"errors"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Packet is one captured frame.
type Packet struct {
	// Data holds the captured bytes, starting at the link-layer header
	// described by LinkType. It is valid only until the next ReadPacket.
	Data      []byte
	Timestamp time.Time
	// Length is the frame's length on the wire (Data may be shorter).
	Length   int
	LinkType layers.LinkType
	// Interface is the source's index of the interface the frame came from.
	Interface int
}

// ErrTimeout is returned by a live PacketSource when no packet arrived
// within its poll interval; the caller may do housekeeping and read again.
var ErrTimeout = errors.New("no packet within the poll interval")

// PacketSource yields captured frames. ReadPacket returns io.EOF at the end
// of a file, ctx.Err() once ctx is done, and ErrTimeout from live sources
// when nothing arrived for a while.
type PacketSource interface {
	ReadPacket(ctx context.Context) (Packet, error)
	Close() error
}

// KernelStatser is implemented by live sources that can report the kernel's
// packet and drop counters (cumulative since the source was opened).
type KernelStatser interface {
	KernelStats() (packets, drops uint64, err error)
}
