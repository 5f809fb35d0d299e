package apiserver

import (
	"net/http"
	"strings"
	"time"
)

// slugs are the articles' slugs: most are words, a few carry digits.
var slugs = [...]string{
	"hello-world", "getting-started", "installation", "configuration", "authentication",
	"rate-limits", "pagination", "error-handling", "webhooks", "best-practices",
	"changelog", "faq", "troubleshooting", "security", "privacy-policy",
	"terms-of-service", "migration-guide", "api-overview", "sdk-quickstart", "testing-your-integration",
	"deployment", "monitoring", "caching", "versioning", "contributing",
	"release-notes-2023", "release-notes-2024", "top-10-tips", "oauth2-setup",
}

// ArticleSlugs returns the slug of every article the server has.
func ArticleSlugs() []string { return append([]string(nil), slugs[:]...) }

type author struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type article struct {
	Slug        string    `json:"slug"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	PublishedAt time.Time `json:"publishedAt"`
	Author      author    `json:"author"`
}

// makeArticles builds one article per slug, written by one of the first five users.
func makeArticles(users []user) map[string]article {
	users = users[:min(5, len(users))]
	out := make(map[string]article, len(slugs))
	for i, slug := range slugs {
		words := strings.Split(slug, "-")
		for j, w := range words {
			words[j] = strings.ToUpper(w[:1]) + w[1:]
		}
		title := strings.Join(words, " ")
		u := users[i%len(users)]
		out[slug] = article{
			Slug:  slug,
			Title: title,
			Body: title + " explains what to know before you start. " +
				"It walks through the steps one at a time, with examples that you can run as they are, " +
				"and ends with the questions readers ask most often.",
			PublishedAt: epoch.Add(time.Duration(i)*71*time.Hour + 17*time.Minute),
			Author:      author{ID: u.ID, Name: u.Name, Email: u.Email},
		}
	}
	return out
}

func (s *server) getArticle(w http.ResponseWriter, r *http.Request) {
	a, found := s.articles[r.PathValue("slug")]
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no article "+r.PathValue("slug"))
		return
	}
	writeJSON(w, http.StatusOK, a)
}
