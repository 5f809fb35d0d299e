package agent

// Netns is the network namespace a pod runs in.
type Netns struct {
	// Path is /proc/PID/ns/net of a process inside it.
	Path string
	PID  int
	// Inode identifies the namespace (the inode of its nsfs file).
	Inode uint64
}

// Missed is a pod (or another capture target) the agent could not capture
// in, and why.
type Missed struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
}
