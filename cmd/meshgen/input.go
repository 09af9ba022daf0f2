package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits of the files meshgen reads besides the tree. Each is far above
// what a real file holds and far below what would hurt.
const (
	// maxIdentitySize: an age identity file holds a few lines of 74
	// characters (post-quantum identities are a little longer).
	maxIdentitySize = 1 << 20
	// maxPEMSize: a certificate, a chain of a few, or a private key.
	maxPEMSize = 1 << 20
	// maxTokenSize: a Kubernetes bearer token (a JWT) is a few kilobytes.
	maxTokenSize = 64 << 10
)

// isStdin reports whether file names standard input, from which the
// inventory is read once.
func isStdin(file string) bool { return file == "-" || file == "/dev/stdin" }

// readBounded reads a regular file of at most limit bytes without reading
// more. Anything else (a named pipe that may never get a writer, a device
// such as /dev/zero that never ends, a socket, a directory) is refused
// before it is read: what names what the file should have been.
func readBounded(file string, limit int64, what string) ([]byte, error) {
	// O_NONBLOCK: opening a named pipe must not wait for a writer.
	f, err := os.OpenFile(file, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, not a regular file; want %s", file, kindOf(fi.Mode()), what)
	}
	return readAllBounded(f, file, limit, what)
}

func readAllBounded(r io.Reader, file string, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: file is larger than the %d bytes %s may have", file, limit, what)
	}
	return data, nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
