package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/feedd/feedd/article"
	"github.com/feedd/feedd/bus"
	"github.com/feedd/feedd/config"
	"github.com/feedd/feedd/extract"
	"github.com/feedd/feedd/fetcher"
	"github.com/feedd/feedd/pipeline"
)

// parts is what each part of the daemon is configured with. partsOf makes it from a
// config.Config and start wires exactly what it holds, so that TestEveryKeyReachesItsPart can
// hold every configuration key to changing something here.
type parts struct {
	logLevel        slog.Level
	logJSON         bool
	dbPath          string
	embedded        *bus.EmbeddedOptions // nil with a remote nats.url; its Logger is set by start
	bus             bus.Options          // its Embedded, Logger and callbacks are set by start
	stream          bus.StreamConfig
	fetcher         fetcher.Options
	pages           *extract.FetchOptions // nil: no page is read (extract.full_text never)
	pipeline        pipeline.Options      // its Logger and Metrics are set by start
	httpListen      string
	shutdownTimeout time.Duration
	cluster         *clusterParts // nil: one machine, no lease
}

// clusterParts configures cluster mode: the replicas named name share a lease of leaseTTL and
// a feed state bucket, each kept with replicas copies on the NATS cluster.
type clusterParts struct {
	name     string
	leaseTTL time.Duration
	replicas int
	// id is the replica's holder id; empty: replicaID (FEEDD_REPLICA_ID, else host and pid).
	// Tests running several replicas in one process set it.
	id string
}

// pipelineFeeds turns the configured feeds into the pipeline's: at start and on SIGHUP.
func pipelineFeeds(list []config.Feed) ([]pipeline.Feed, error) {
	feeds := make([]pipeline.Feed, len(list))
	for i, f := range list {
		feeds[i] = pipeline.Feed{ID: f.ID, URL: f.URL, Name: f.Name, Lang: f.Language, Interval: f.Interval, Charset: f.Charset,
			FullText: pipeline.FullText(f.FullText)}
		if f.Extract.Body != "" || len(f.Extract.Strip) > 0 {
			feeds[i].Rule = &pipeline.PageRule{Body: f.Extract.Body, Strip: f.Extract.Strip}
		}
		if f.Timezone != "" {
			zone, err := time.LoadLocation(f.Timezone)
			if err != nil {
				return nil, fmt.Errorf("feed %s: %w", f.ID, err) // validated by config already
			}
			feeds[i].Zone = zone
		}
	}
	return feeds, nil
}

// pagesWanted reports whether any feed may have its article pages read.
func pagesWanted(cfg config.Config) bool {
	if cfg.Extract.FullText != config.FullTextNever {
		return true
	}
	for _, f := range cfg.Feeds {
		if f.FullText != "" && f.FullText != config.FullTextNever {
			return true
		}
	}
	return false
}

// partsOf turns a validated configuration into the options of each part. It fails only on what
// validation already refuses (an unknown time zone).
func partsOf(cfg config.Config) (parts, error) {
	p := parts{
		logLevel:        cfg.Log.SlogLevel(),
		logJSON:         strings.EqualFold(cfg.Log.Format, "json"),
		dbPath:          filepath.Join(cfg.DataDir, dbFile),
		bus:             bus.Options{Name: "feedd"},
		httpListen:      cfg.HTTP.Listen,
		shutdownTimeout: cfg.ShutdownTimeout,
		stream: bus.StreamConfig{
			Name:            cfg.NATS.Stream,
			Subjects:        []string{article.SubjectPrefix + ".>"},
			Replicas:        cfg.NATS.Replicas,
			DuplicateWindow: cfg.NATS.DuplicateWindow,
			MaxAge:          cfg.NATS.MaxAge,
		},
		fetcher: fetcher.Options{
			Timeout:             cfg.Poll.Timeout,
			MaxBody:             int64(cfg.Poll.MaxBody),
			MaxItems:            cfg.Poll.MaxItems,
			DenyPrivateNetworks: cfg.Poll.DenyPrivateNetworks,
			UserAgent:           userAgent(cfg),
		},
	}
	if cfg.NATS.URL == "" {
		p.embedded = &bus.EmbeddedOptions{Listen: cfg.NATS.Listen, StoreDir: filepath.Join(cfg.DataDir, natsDir)}
	} else {
		p.bus.URL, p.bus.Creds = cfg.NATS.URL, cfg.NATS.Creds
	}
	feeds, err := pipelineFeeds(cfg.Feeds)
	if err != nil {
		return parts{}, err
	}
	p.pipeline = pipeline.Options{
		Feeds:        feeds,
		Interval:     cfg.Poll.Interval,
		Concurrency:  cfg.Poll.Concurrency,
		PerHost:      cfg.Poll.PerHost,
		HostGap:      cfg.Poll.HostGap,
		Policy:       pipeline.Policy{MinInterval: cfg.Poll.MinInterval, MaxInterval: cfg.Poll.MaxInterval},
		DedupeWindow: cfg.Dedupe.Window,
		MaxPending:   int64(cfg.Outbox.MaxPending),

		FullText:        pipeline.FullText(cfg.Extract.FullText),
		MinWords:        cfg.Extract.MinWords,
		PageConcurrency: cfg.Extract.Concurrency,
	}
	if pagesWanted(cfg) {
		opts := pageFetchOptions(cfg)
		p.pages = &opts
	}
	if cfg.Cluster.Enabled {
		p.cluster = &clusterParts{name: cfg.Cluster.Name, leaseTTL: cfg.Cluster.LeaseTTL, replicas: cfg.NATS.Replicas}
	}
	return p, nil
}

// pageFetchOptions configures the fetching of article pages: the daemon's, and feedd extract's.
func pageFetchOptions(cfg config.Config) extract.FetchOptions {
	return extract.FetchOptions{
		UserAgent:     userAgent(cfg),
		Timeout:       cfg.Extract.Timeout,
		MaxBody:       int64(cfg.Extract.MaxBody),
		RespectRobots: cfg.Extract.RespectRobots,
		DenyPrivate:   cfg.Poll.DenyPrivateNetworks,
	}
}
