package pipeline

import (
	"github.com/feedd/feedd/fetcher"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus collectors. All names start with feedd_.
type Metrics struct {
	Polls         *prometheus.CounterVec // by result: ok, not_modified, error
	FetchErrors   *prometheus.CounterVec // by class
	FetchDuration prometheus.Histogram   // seconds per fetch, successful or not
	Items         prometheus.Counter     // items read from feeds
	Articles      *prometheus.CounterVec // by verdict: new, duplicate, repeat, updated
	Published     prometheus.Counter     // outbox messages acknowledged by JetStream
	PublishErrors prometheus.Counter     // publish attempts that were not acknowledged
	OutboxDepth   prometheus.Gauge       // unsent outbox rows
	StoreErrors   prometheus.Counter     // database errors while recording articles or feed state
	FeedFailures  *prometheus.GaugeVec   // consecutive failures, by feed
	LastSuccess   *prometheus.GaugeVec   // unix time of the last successful poll, by feed
	PollingPaused prometheus.Gauge       // 1 while polling waits for the outbox to drain
	Fallbacks     *prometheus.CounterVec // by kind: date, xml_repair, invalid_bytes
	Rejected      prometheus.Counter     // messages held in the outbox: over max_payload even when cut, bad subject
	NextPoll      *prometheus.GaugeVec   // unix time of the next poll, by feed
	Pages         *prometheus.CounterVec // article pages read for full text, by result: ok or why not
	PageDuration  prometheus.Histogram   // seconds per page read, successful or not
}

// NewMetrics creates the collectors and registers them with reg (nil: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedd_polls_total", Help: "Feed polls by result (ok, not_modified, error).",
		}, []string{"result"}),
		FetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedd_fetch_errors_total", Help: "Failed feed fetches by error class.",
		}, []string{"class"}),
		FetchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "feedd_fetch_duration_seconds", Help: "Time to fetch and parse one feed.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}),
		Items: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feedd_items_total", Help: "Items read from feeds.",
		}),
		Articles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedd_articles_total", Help: "Items by duplicate decision (new, duplicate, repeat, updated).",
		}, []string{"verdict"}),
		Published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feedd_published_total", Help: "Articles acknowledged by JetStream.",
		}),
		PublishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feedd_publish_errors_total", Help: "Publish attempts not acknowledged (retried later).",
		}),
		OutboxDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "feedd_outbox_depth", Help: "Articles recorded but not yet acknowledged by JetStream.",
		}),
		StoreErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feedd_store_errors_total", Help: "Database errors while recording articles or feed state.",
		}),
		FeedFailures: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "feedd_feed_consecutive_failures", Help: "Consecutive failed polls, by feed.",
		}, []string{"feed"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "feedd_feed_last_success_timestamp_seconds", Help: "Unix time of the last successful poll, by feed.",
		}, []string{"feed"}),
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedd_fallbacks_total",
			Help: "What feeds needed mending: unparseable dates (fetch time used), XML repairs, undecodable bytes (U+FFFD).",
		}, []string{"kind"}),
		Rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "feedd_publish_rejected_total", Help: "Messages that cannot be published as they are (over max_payload even when cut, bad subject): held in the outbox.",
		}),
		NextPoll: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "feedd_feed_next_poll_timestamp_seconds", Help: "Unix time of the next poll, by feed.",
		}, []string{"feed"}),
		Pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedd_pages_total",
			Help: "Article pages read for full text, by result: ok, or why the feed's text was kept (timeout, status_4xx, robots, not_html, shorter_than_feed, ...).",
		}, []string{"result"}),
		PageDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "feedd_page_duration_seconds", Help: "Time to fetch and extract one article page.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30},
		}),
		PollingPaused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "feedd_polling_paused", Help: "1 while polling is paused because the outbox reached outbox.max_pending.",
		}),
	}
	for _, v := range []string{"new", "duplicate", "repeat", "updated"} {
		m.Articles.WithLabelValues(v)
	}
	for _, v := range []string{"ok", "not_modified", "error"} {
		m.Polls.WithLabelValues(v)
	}
	// Series a dashboard or an alert names exist from the start, at 0, not from their first count.
	for _, v := range []string{"date", "xml_repair", "invalid_bytes"} {
		m.Fallbacks.WithLabelValues(v)
	}
	for _, c := range []fetcher.Class{fetcher.ClassDNS, fetcher.ClassConnect, fetcher.ClassTLS, fetcher.ClassTimeout,
		fetcher.ClassHTTPStatus, fetcher.ClassTooLarge, fetcher.ClassNotFeed, fetcher.ClassParse, fetcher.ClassRedirect,
		fetcher.ClassIO, fetcher.ClassRequest, fetcher.ClassForbidden} {
		m.FetchErrors.WithLabelValues(string(c))
	}
	m.Pages.WithLabelValues("ok")
	if reg != nil {
		reg.MustRegister(m.Polls, m.FetchErrors, m.FetchDuration, m.Items, m.Articles, m.Published,
			m.PublishErrors, m.OutboxDepth, m.StoreErrors, m.FeedFailures, m.LastSuccess, m.PollingPaused, m.Fallbacks, m.Rejected, m.NextPoll,
			m.Pages, m.PageDuration)
	}
	return m
}
