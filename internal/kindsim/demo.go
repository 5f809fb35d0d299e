package kindsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/specgate/specgate/internal/demo/resp"
	"github.com/specgate/specgate/internal/demo/stats"
	"github.com/specgate/specgate/internal/demo/todo"
)

// startDemo serves the statistics service in its pod, and the todo service
// in its pod, storing todos in Redis (or memory) and reporting to the
// statistics service through stats-service's ClusterIP, dialled from
// inside the todo pod.
func (c *Cluster) startDemo(ctx context.Context, cfg Config, version string) error {
	if cfg.RedisURL != "" {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		rc, err := resp.Dial(dctx, cfg.RedisURL)
		cancel()
		if err != nil {
			return fmt.Errorf("todo service's store: %w", err)
		}
		c.onClose(func(context.Context) error { return rc.Close() })
		c.store = todo.NewRedis(rc, fmt.Sprintf("kindsim:%d:%s:", c.pid, c.name))
	} else {
		c.store = &todo.Memory{}
	}
	transport := &http.Transport{
		DialContext:         c.Pod(AppTodo).DialContext,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	c.onClose(func(context.Context) error {
		transport.CloseIdleConnections()
		return nil
	})
	c.client = &http.Client{Transport: transport, Timeout: 2 * time.Second}
	if err := c.SetVersion(version); err != nil {
		return err
	}
	apps := map[string]http.Handler{
		AppStats: stats.New(),
		AppTodo:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.todo.Load().h.ServeHTTP(w, r) }),
	}
	for _, p := range c.pods {
		ln, err := p.Listen(ctx, "tcp4", net.JoinHostPort(p.IP.String(), strconv.Itoa(p.Port)))
		if err != nil {
			return fmt.Errorf("%s pod: %w", p.App, err)
		}
		srv := &http.Server{Handler: p.record(apps[p.App]), ReadHeaderTimeout: 10 * time.Second, ErrorLog: c.logger}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				c.logger.Printf("%s pod: %v", p.App, err)
			}
		}()
		c.onClose(func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			<-done
			if err != nil {
				return fmt.Errorf("stop the %s service: %w", p.App, err)
			}
			return nil
		})
	}
	return nil
}

// SetVersion switches the todo service to the version todo.Lookup names
// (v1, v2, v3 or a variant); requests already running finish on the old
// one. Todos stay in the store.
func (c *Cluster) SetVersion(name string) error {
	v, ok := todo.Lookup(name)
	if !ok {
		return fmt.Errorf("kindsim: unknown todo service version %q", name)
	}
	statsSvc, _ := c.Service(AppStats)
	h := todo.New(todo.Config{
		Version:  v,
		Store:    c.store,
		StatsURL: "http://" + net.JoinHostPort(statsSvc.ClusterIP.String(), strconv.Itoa(statsSvc.Port)),
		Client:   c.client,
		Log:      c.logger,
	})
	c.todo.Store(&versioned{name: v.Name, h: h})
	return nil
}

// Version returns the todo service's version.
func (c *Cluster) Version() string { return c.todo.Load().name }

// selfCheck makes sure the cluster answers before New returns: the todo
// service through its NodePort from here, and the statistics service
// through its ClusterIP from inside the todo pod. The connections it made
// are closed and the requests it made are forgotten, so that a capture
// started after New sees whole connections only.
func (c *Cluster) selfCheck(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	host := &http.Transport{}
	defer host.CloseIdleConnections()
	statsSvc, _ := c.Service(AppStats)
	checks := []struct {
		what string
		rt   http.RoundTripper
		url  string
	}{
		{"the todo service through its NodePort", host, c.NodeURL() + "/healthz"},
		{"the statistics service through its NodePort", host, c.StatsURL() + "/healthz"},
		{"the statistics service's ClusterIP from the todo pod", c.client.Transport,
			"http://" + net.JoinHostPort(statsSvc.ClusterIP.String(), strconv.Itoa(statsSvc.Port)) + "/healthz"},
	}
	for _, ch := range checks {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ch.url, nil)
		if err != nil {
			return fmt.Errorf("check %s: %w", ch.what, err)
		}
		res, err := ch.rt.RoundTrip(req)
		if err != nil {
			return fmt.Errorf("check %s: %w", ch.what, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("check %s: GET %s: status %d", ch.what, ch.url, res.StatusCode)
		}
	}
	if t, ok := c.client.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	for _, p := range c.pods {
		p.ResetServed()
	}
	return nil
}
