package github

import (
	"context"
	"testing"
	"time"

	"github.com/specgate/specgate/internal/cifake"
)

// testToken is the token the fake accepts: no error, log line, comment or
// output may hold it.
const testToken = cifake.GitHubToken

// fastRetry keeps the retries' waits short in tests.
func fastRetry() retryPolicy {
	return retryPolicy{attempts: 4, base: time.Millisecond, max: 8 * time.Millisecond, budget: 2 * time.Second}
}

// fakeEnv is the job environment pointing at the fake.
func fakeEnv(f *cifake.GitHub) Env {
	return Env{APIURL: f.APIURL(), Repository: cifake.GitHubOwner + "/" + cifake.GitHubRepo,
		Owner: cifake.GitHubOwner, Repo: cifake.GitHubRepo, Token: testToken}
}

// fakeClient is a client of the fake with short retries.
func fakeClient(t *testing.T, f *cifake.GitHub) *Client {
	t.Helper()
	c, err := newClient(context.Background(), fakeEnv(f), f.Client(), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
