//go:build !linux

package agent

// Locator finds the network namespaces of pods; network namespaces exist
// only on Linux.
type Locator struct {
	// Proc is the proc file system to scan (default /proc).
	Proc string
}

// Locate finds the network namespace of each pod; network namespaces
// exist only on Linux, so every pod is missed here.
func (l *Locator) Locate(pods []Pod) (found map[string]Netns, missed []Missed) {
	for _, p := range pods {
		missed = append(missed, Missed{Target: p.Key(), Reason: "network namespaces exist only on Linux"})
	}
	return map[string]Netns{}, missed
}
