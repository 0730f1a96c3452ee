package ops

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feedd/feedd/store"
)

// StatusSource is what the status page reads: the feeds' poll states, the latest articles and
// the outbox depth. *store.Store implements it.
type StatusSource interface {
	Feeds(ctx context.Context) ([]store.Feed, error)
	Recent(ctx context.Context, n int) ([]store.Recent, error)
	OutboxDepth(ctx context.Context) (int64, error)
}

var _ StatusSource = (*store.Store)(nil)

// FeedInfo is a configured feed as the status page names it.
type FeedInfo struct {
	ID   string
	Name string
	URL  string
	Lang string // a language tag; right-to-left languages get right-to-left titles
}

// Status configures the status page.
type Status struct {
	Source StatusSource
	// Feeds returns the configured feeds, in the order the page lists them. It is called on
	// each request, so that a reloaded feed list shows at once.
	Feeds   func() []FeedInfo
	Version string
	// Articles is how many of the latest articles the page lists; 0 means 50.
	Articles int
	// Refresh is how often the browser reloads the page; 0 means never.
	Refresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// HandleStatus serves the status page at / : the feeds' health, the latest articles and the
// outbox depth, as plain HTML (no script runs on it). Call it before Serve.
func (s *Server) HandleStatus(st Status) {
	if st.Articles <= 0 {
		st.Articles = 50
	}
	if st.Now == nil {
		st.Now = time.Now
	}
	s.mux.Handle("GET /{$}", &statusHandler{st: st, checks: s.checks, log: s.log, srv: s})
}

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(statusHTML))

type statusHandler struct {
	st     Status
	checks map[string]Check
	log    *slog.Logger
	srv    *Server // for its info, which may be set after HandleStatus
}

// Data of the template.
type (
	statusPage struct {
		Version   string
		Now       time.Time
		Refresh   int // seconds, 0 none
		Ready     bool
		Checks    []checkRow
		Info      []checkRow // what Server.SetInfo adds, by name
		Outbox    int64
		OutboxErr string

		Feeds                  []feedRow
		FeedsErr               string
		OK, Failing, NeverPoll int

		Articles    []articleRow
		ArticlesErr string
		Limit       int
	}
	checkRow struct {
		Name, Result string
		OK           bool
	}
	feedRow struct {
		ID, Name, URL string
		Health        string // "ok", "failing", "never polled"
		LastPoll      time.Time
		LastPollAgo   string
		LastSuccess   time.Time
		SuccessAgo    string
		NextPoll      time.Time
		NextIn        string
		Failures      int
		ErrorClass    string
		HTTPStatus    int
		LastError     string
		Items         int64
	}
	articleRow struct {
		Title, URL         string
		Dir                string // of the title: "rtl" for a right-to-left feed, else "auto"
		Outlet, FeedID     string
		Published, Fetched time.Time
		PublishedAgo       string
		Duplicate          bool
		DuplicateOf        string
		OriginalTitle      string
		OriginalOutlet     string
		OriginalDir        string
	}
)

func (h *statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	now := h.st.Now()
	p := statusPage{Version: h.st.Version, Now: now, Refresh: int(h.st.Refresh / time.Second), Limit: h.st.Articles}

	p.Ready = true
	for _, name := range slices.Sorted(maps.Keys(h.checks)) {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := h.checks[name](cctx)
		cancel()
		row := checkRow{Name: name, Result: "ok", OK: err == nil}
		if err != nil {
			var d *degradedError
			if !errors.As(err, &d) { // as /readyz: a degraded check is said, not a failure
				p.Ready = false
			}
			row.Result = err.Error()
		}
		p.Checks = append(p.Checks, row)
	}

	if h.srv != nil && h.srv.info != nil {
		info := h.srv.info(ctx)
		for _, k := range slices.Sorted(maps.Keys(info)) {
			p.Info = append(p.Info, checkRow{Name: k, Result: info[k], OK: true})
		}
	}

	var err error
	if p.Outbox, err = h.st.Source.OutboxDepth(ctx); err != nil {
		p.OutboxErr = err.Error()
	}

	var infos []FeedInfo
	if h.st.Feeds != nil {
		infos = h.st.Feeds()
	}
	byID := make(map[string]FeedInfo, len(infos))
	for _, f := range infos {
		byID[f.ID] = f
	}
	states, err := h.st.Source.Feeds(ctx)
	if err != nil {
		p.FeedsErr = err.Error()
	}
	stateOf := make(map[string]store.Feed, len(states))
	for _, s := range states {
		stateOf[s.ID] = s
	}
	for _, f := range infos {
		row := feedRow{ID: f.ID, Name: f.Name, URL: f.URL, Health: "never polled"}
		if row.Name == "" {
			row.Name = f.ID
		}
		if s, ok := stateOf[f.ID]; ok && !s.LastPollAt.IsZero() {
			row.LastPoll, row.LastPollAgo = s.LastPollAt, ago(now, s.LastPollAt)
			row.LastSuccess, row.SuccessAgo = s.LastSuccessAt, ago(now, s.LastSuccessAt)
			row.NextPoll, row.NextIn = s.NextPollAt, until(now, s.NextPollAt)
			row.Failures, row.ErrorClass, row.HTTPStatus = s.ConsecutiveFailures, s.ErrorClass, s.LastStatus
			row.LastError, row.Items = s.LastError, s.Items
			row.Health = "ok"
			if s.ConsecutiveFailures > 0 {
				row.Health = "failing"
			}
		}
		switch row.Health {
		case "ok":
			p.OK++
		case "failing":
			p.Failing++
		default:
			p.NeverPoll++
		}
		p.Feeds = append(p.Feeds, row)
	}

	recent, err := h.st.Source.Recent(ctx, h.st.Articles)
	if err != nil {
		p.ArticlesErr = err.Error()
	}
	outlet := func(id string) (name, dir string) {
		f, ok := byID[id]
		if !ok || f.Name == "" {
			return id, "auto"
		}
		return f.Name, textDir(f.Lang)
	}
	for _, a := range recent {
		row := articleRow{Title: a.Title, URL: a.URL, FeedID: a.FeedID, Published: a.PublishedAt, Fetched: a.FetchedAt}
		row.Outlet, row.Dir = outlet(a.FeedID)
		if row.Title == "" {
			row.Title = "(untitled)"
		}
		if !a.PublishedAt.IsZero() {
			row.PublishedAgo = ago(now, a.PublishedAt)
		}
		if a.DuplicateOf != "" {
			row.Duplicate, row.DuplicateOf = true, a.DuplicateOf
			row.OriginalTitle = a.OriginalTitle
			if a.OriginalFeedID != "" {
				row.OriginalOutlet, row.OriginalDir = outlet(a.OriginalFeedID)
			} else {
				row.OriginalDir = "auto"
			}
		}
		p.Articles = append(p.Articles, row)
	}

	var buf bytes.Buffer
	if err := statusTemplate.Execute(&buf, p); err != nil {
		h.log.Warn("status page", "err", err)
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	// No script, frame, form or remote resource belongs on this page: whatever a feed manages to
	// put in a title cannot load or run anything.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// rtlLanguages are the primary language subtags written right to left.
var rtlLanguages = []string{"ar", "arc", "ckb", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur", "yi"}

// textDir is the dir attribute for text in the language tag lang: "rtl" for a right-to-left
// language, else "auto" (the direction of the text's first strong character).
func textDir(lang string) string {
	primary, _, _ := strings.Cut(strings.ToLower(lang), "-")
	if slices.Contains(rtlLanguages, primary) {
		return "rtl"
	}
	return "auto"
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + short(-d)
	}
	return short(d) + " ago"
}

func until(now, t time.Time) string {
	if t.IsZero() {
		return "not scheduled"
	}
	if d := t.Sub(now); d > 0 {
		return "in " + short(d)
	}
	return "due"
}

// short writes d in its two largest units: 3d4h, 2h5m, 4m30s, 12s.
func short(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= 24*time.Hour:
		return trim(d/(24*time.Hour), "d", d%(24*time.Hour)/time.Hour, "h")
	case d >= time.Hour:
		return trim(d/time.Hour, "h", d%time.Hour/time.Minute, "m")
	case d >= time.Minute:
		return trim(d/time.Minute, "m", d%time.Minute/time.Second, "s")
	}
	return itoa(int64(d/time.Second)) + "s"
}

func trim(a time.Duration, ua string, b time.Duration, ub string) string {
	s := itoa(int64(a)) + ua
	if b > 0 {
		s += itoa(int64(b)) + ub
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
