package infer_test

import (
	"context"
	"testing"

	"github.com/specgate/specgate/capture"
	"github.com/specgate/specgate/capture/redact"
	"github.com/specgate/specgate/capture/source"
	"github.com/specgate/specgate/infer"
)

func TestZZProf(t *testing.T) {
	in := infer.New(infer.Options{})
	err := source.ReadFile(context.Background(), "../.bench/infer-100k.ndjson", source.Options{Redactor: redact.New(redact.Options{})}, capture.NewStats(), func(e *capture.Exchange) error {
		in.Observe(e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
