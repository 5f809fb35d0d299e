//go:build !linux

package session

import "errors"

// nsID identifies a network namespace.
type nsID struct{ dev, ino uint64 }

// namespaceID fails: network namespaces exist only on Linux.
func namespaceID(path string) (nsID, error) {
	return nsID{}, errors.New("network namespaces exist only on Linux")
}
