package session

import "golang.org/x/sys/unix"

// nsID identifies a network namespace: the device and inode of its file.
type nsID struct{ dev, ino uint64 }

// namespaceID returns the identity of the namespace a path names.
func namespaceID(path string) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, err
	}
	return nsID{dev: st.Dev, ino: st.Ino}, nil
}
