package capture

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteSummary writes a human-readable account of the capture: one line of
// totals, a table with a row per server, and the explanation lines (among
// them one per target missed, with its reason).
func (s *Stats) WriteSummary(w io.Writer) error {
	servers := s.SortedServers()
	drops := ""
	if s.KernelPackets+s.KernelDrops > 0 {
		drops = fmt.Sprintf(", %d dropped by the kernel", s.KernelDrops)
	}
	var dropped []string
	if s.Filtered > 0 {
		dropped = append(dropped, fmt.Sprintf("%d left out by the host and path filters", s.Filtered))
	}
	if s.Duplicates > 0 {
		dropped = append(dropped, fmt.Sprintf("%d duplicate %s dropped", s.Duplicates, plural(s.Duplicates, "copy", "copies")))
	}
	filtered := ""
	if len(dropped) > 0 {
		filtered = " (" + strings.Join(dropped, ", ") + ")"
	}
	// Exchanges read from HAR files or recorded by the proxy tap came in no
	// packets: the packet counts would say nothing.
	packets := ""
	if s.Packets > 0 || s.Exchanges == 0 {
		packets = fmt.Sprintf(" (%d packets, %d bytes%s)", s.Packets, s.Bytes, drops)
	}
	if _, err := fmt.Fprintf(w, "captured %d %s%s from %d %s%s\n",
		s.Exchanges, plural(s.Exchanges, "exchange"), filtered, len(servers), plural(uint64(len(servers)), "server"),
		packets); err != nil {
		return err
	}
	if len(servers) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "server\texchanges\tconns\treq bytes\tresp bytes\ttruncated\tincomplete\tunanswered\tTLS\tHTTP/2\t")
		for _, ss := range servers {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", ss.Server, ss.Exchanges, ss.Connections,
				ss.RequestBytes, ss.ResponseBytes, ss.Truncated, ss.Incomplete, ss.Unanswered, ss.TLS, ss.HTTP2)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if s.Redacted > 0 {
		if _, err := fmt.Fprintf(w, "redacted %d secret %s (credentials, cookies, tokens)\n", s.Redacted, plural(s.Redacted, "value")); err != nil {
			return err
		}
	}
	for _, line := range s.Explain() {
		if _, err := fmt.Fprintln(w, "note: "+line); err != nil {
			return err
		}
	}
	return nil
}

// FormatBytes renders n with a binary unit ("1.5 MiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
