package gitlab

import (
	"fmt"
	"sync"
	"time"

	"github.com/specgate/specgate/internal/cifake"
)

// fakeEnv is a merge request pipeline's environment for the fake; it
// matches f.Environ().
func fakeEnv(f *cifake.GitLab) Env {
	token, jobToken := f.Tokens()
	return Env{
		APIURL:          f.APIURL(),
		ProjectID:       cifake.GitLabProject,
		ProjectURL:      "https://gitlab.example.com/group/project",
		MergeRequestIID: cifake.GitLabMR,
		DefaultBranch:   "main",
		RefName:         "feature/rename",
		TargetBranch:    "main",
		JobName:         "api-gate",
		Token:           token,
		JobToken:        jobToken,
	}
}

// fakeClient is a client of the fake with fast retries, its log lines
// appended to logs when that is not nil.
func fakeClient(f *cifake.GitLab, env Env, logs *[]string) *Client {
	c := NewClient(env, f.Client())
	c.BaseDelay = time.Millisecond
	c.MaxDelay = 200 * time.Millisecond
	var mu sync.Mutex
	c.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if logs != nil {
			*logs = append(*logs, fmt.Sprintf(format, args...))
		}
	}
	return c
}
