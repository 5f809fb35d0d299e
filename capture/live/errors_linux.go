package live

import (
	"fmt"
	"net"
)

// liveError is an error whose one-line message names the fix, while
// errors.Is still reaches the system error beneath it (os.ErrPermission,
// os.ErrNotExist, net.ErrClosed).
type liveError struct {
	msg string
	err error
}

func (e *liveError) Error() string { return e.msg }
func (e *liveError) Unwrap() error { return e.err }

// wrapf returns an error with the formatted message that unwraps to err.
func wrapf(err error, format string, args ...any) error {
	return &liveError{msg: fmt.Sprintf(format, args...), err: err}
}

// errClosed is returned by ReadPacket once the source is closed.
var errClosed error = &liveError{msg: "live capture: source closed", err: net.ErrClosed}
