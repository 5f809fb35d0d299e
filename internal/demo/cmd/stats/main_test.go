package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	code := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { code <- run(ctx, []string{"-addr", "127.0.0.1:0"}, &stderr, func(a string) { addrc <- a }) }()
	var addr string
	select {
	case addr = <-addrc:
	case c := <-code:
		t.Fatalf("exited %d: %s", c, stderr.String())
	}
	r, err := http.Post("http://"+addr+"/events", "application/json", strings.NewReader(`{"kind":"created","todoId":"a"}`))
	if err != nil || r.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /events: %v, %v", r, err)
	}
	r.Body.Close()
	r, err = http.Get("http://" + addr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(body) != `{"created":1,"updated":0,"deleted":0,"open":1}`+"\n" {
		t.Errorf("GET /stats: %s", body)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit %d after SIGTERM: %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	if !strings.Contains(stderr.String(), "statistics service listening on http://"+addr) {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func TestRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-nope"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"-addr", ln.Addr().String()}, 1},
	} {
		var stderr bytes.Buffer
		if c := run(context.Background(), tc.args, &stderr, nil); c != tc.code || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, want %d: %s", tc.args, c, tc.code, stderr.String())
		}
	}
}
