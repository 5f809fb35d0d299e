//go:build !linux

package live

import (
	"context"
	"errors"
	"net"

	"github.com/specgate/specgate/capture"
)

// errUnsupported is returned where AF_PACKET does not exist.
var errUnsupported = errors.New("live capture needs Linux (AF_PACKET); read a capture file with -r instead")

// Source is a live capture; on this platform it cannot be opened.
type Source struct{}

// Open fails: live capture needs Linux.
func Open(ctx context.Context, cfg Config) (*Source, error) { return nil, errUnsupported }

// ReadPacket fails: live capture needs Linux.
func (s *Source) ReadPacket(ctx context.Context) (capture.Packet, error) {
	return capture.Packet{}, errUnsupported
}

// KernelStats fails: live capture needs Linux.
func (s *Source) KernelStats() (packets, drops uint64, err error) { return 0, 0, errUnsupported }

// Interfaces returns nothing: live capture needs Linux.
func (s *Source) Interfaces() []string { return nil }

// Close does nothing.
func (s *Source) Close() error { return nil }

// Interfaces lists the interfaces of the current namespace; other
// namespaces need Linux.
func Interfaces(netns string) ([]net.Interface, error) {
	if netns != "" {
		return nil, errUnsupported
	}
	return net.Interfaces()
}

// InNetns runs fn here when path is ""; other namespaces need Linux.
func InNetns(path string, fn func() error) error {
	if path != "" {
		return errUnsupported
	}
	return fn()
}
