package relay

import (
	"errors"
	"net"
	"syscall"
)

// temporaryAcceptError reports accept failures worth retrying after a pause:
// running out of descriptors or kernel memory must not stop the relay.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
