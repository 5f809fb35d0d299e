package source_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/source"
)

func TestExploreCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/corpora/pcap/*.pcap*")
	for _, f := range files {
		stats := capture.NewStats()
		var xs []*capture.Exchange
		err := source.ReadFile(context.Background(), f, source.Options{}, stats, func(e *capture.Exchange) error { xs = append(xs, e); return nil })
		t.Logf("== %s err=%v exchanges=%d packets=%d ignored=%d", filepath.Base(f), err, len(xs), stats.Packets, stats.Ignored)
		for _, e := range xs {
			t.Logf("   %s→%s %s %q %s req=%d/%d resp %d %d/%d dec=%s inc=%v/%v trunc=%v/%v interim=%v up=%q", e.Client, e.Server, e.Request.Method, e.Request.Target, e.Request.Proto, len(e.Request.Body), e.Request.WireSize, e.Response.Status, len(e.Response.Body), e.Response.WireSize, e.Response.Decoded, e.Request.Incomplete, e.Response.Incomplete, e.Request.Truncated, e.Response.Truncated, e.Response.Interim, e.Upgrade)
		}
		for _, s := range stats.SortedServers() {
			t.Logf("   %+v", *s)
		}
	}
}
